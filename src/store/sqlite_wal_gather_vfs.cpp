#include "store/sqlite_wal_gather_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

namespace talon::store {
namespace {

// The WAL file format (https://sqlite.org/fileformat.html#wal_file_format): a 32-byte header, then frames
// of a 24-byte header and a page. Bytes 4-7 of a frame header, big-endian: for a commit frame the size of
// the database in pages after the commit, for any other frame 0.
constexpr int kWalHeaderBytes = 32;
constexpr int kFrameHeaderBytes = 24;
// The most bytes passed to the default VFS's xWrite at once: the Unix VFS writes at most 128 KiB - 1 per
// call (os_unix.c, seekAndWriteFd masks the length with 0x1ffff), as SQLite never asks for more than a
// page; 64 KiB is the largest page size.
constexpr std::size_t kMaxWriteBytes = 64 * 1024;
// The held-write buffer: kMaxHeldWalBytes and one more frame of a 4 KiB page (the store's page size), so
// that it never grows by doubling in the common case.
constexpr std::size_t kBufferBytes = kMaxHeldWalBytes + 4096 + kFrameHeaderBytes;

/// What a WAL file holds back: contiguous bytes from `offset`, not yet written.
struct Held {
  std::vector<unsigned char> bytes;
  sqlite3_int64 offset = 0;
  bool commitPending = false;  // the last frame header written was a commit frame's
};

/// A WAL file of this VFS: this header, then the default VFS's file object.
struct GatherFile {
  sqlite3_file base;
  sqlite3_file* inner;
  Held* held;
};
constexpr int kHeaderSize = (sizeof(GatherFile) + 15) / 16 * 16;

GatherFile* gather(sqlite3_file* f) { return reinterpret_cast<GatherFile*>(f); }
sqlite3_file* inner(sqlite3_file* f) { return gather(f)->inner; }

/// Writes the held bytes, in calls of at most kMaxWriteBytes. They are dropped whatever the outcome: held
/// bytes are always frames of the transaction in progress (a commit writes them), and a failed write fails
/// the method that flushed, which ends that transaction.
/// `wholeWritesOnly`: write only whole kMaxWriteBytes pieces and keep holding the rest (the buffer is full
/// but no commit came).
int flush(GatherFile* g, bool wholeWritesOnly = false) {
  Held& h = *g->held;
  const std::size_t size = wholeWritesOnly ? h.bytes.size() / kMaxWriteBytes * kMaxWriteBytes : h.bytes.size();
  int rc = SQLITE_OK;
  for (std::size_t done = 0; done < size && rc == SQLITE_OK; done += kMaxWriteBytes) {
    const std::size_t n = std::min<std::size_t>(kMaxWriteBytes, size - done);
    rc = g->inner->pMethods->xWrite(g->inner, h.bytes.data() + done, static_cast<int>(n),
                                    h.offset + static_cast<sqlite3_int64>(done));
  }
  if (rc == SQLITE_OK && size < h.bytes.size()) {
    h.bytes.erase(h.bytes.begin(), h.bytes.begin() + static_cast<std::ptrdiff_t>(size));
    h.offset += static_cast<sqlite3_int64>(size);
    return rc;
  }
  h.bytes.clear();
  // A write bigger than the buffer grew it (a 64 KiB page): give that back.
  if (h.bytes.capacity() > kBufferBytes) std::vector<unsigned char>().swap(h.bytes);
  return rc;
}

int gatherClose(sqlite3_file* f) {
  GatherFile* g = gather(f);
  const int flushed = flush(g);
  const int closed = g->inner->pMethods->xClose(g->inner);
  delete g->held;
  g->held = nullptr;
  return flushed != SQLITE_OK ? flushed : closed;
}

int gatherRead(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  if (int rc = flush(gather(f)); rc != SQLITE_OK) return rc;
  return inner(f)->pMethods->xRead(inner(f), out, amount, offset);
}

int gatherWrite(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  GatherFile* g = gather(f);
  Held& h = *g->held;
  if (!h.bytes.empty() && offset != h.offset + static_cast<sqlite3_int64>(h.bytes.size())) {
    if (int rc = flush(g); rc != SQLITE_OK) return rc;
  }
  const auto* bytes = static_cast<const unsigned char*>(data);
  const bool frameHeader = amount == kFrameHeaderBytes && offset >= kWalHeaderBytes;
  if (frameHeader) h.commitPending = (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
  try {
    if (h.bytes.empty()) h.offset = offset;
    if (h.bytes.capacity() < kBufferBytes) h.bytes.reserve(kBufferBytes);
    h.bytes.insert(h.bytes.end(), bytes, bytes + amount);
  } catch (const std::bad_alloc&) {
    // Nothing of this write is held: write what is, then this write, as the default VFS would.
    if (int rc = flush(g); rc != SQLITE_OK) return rc;
    return g->inner->pMethods->xWrite(g->inner, data, amount, offset);
  }
  // A commit frame's page is written before this call returns, so before SQLite publishes the commit.
  if (!frameHeader && h.commitPending) return flush(g);
  if (h.bytes.size() >= static_cast<std::size_t>(kMaxHeldWalBytes)) return flush(g, true);
  return SQLITE_OK;
}

int gatherTruncate(sqlite3_file* f, sqlite3_int64 size) {
  GatherFile* g = gather(f);
  Held& h = *g->held;
  // Held bytes at or past the new end would be written after the truncation: drop them.
  if (!h.bytes.empty()) {
    if (h.offset >= size) {
      h.bytes.clear();
    } else if (h.offset + static_cast<sqlite3_int64>(h.bytes.size()) > size) {
      h.bytes.resize(static_cast<std::size_t>(size - h.offset));
    }
  }
  if (int rc = flush(g); rc != SQLITE_OK) return rc;
  return g->inner->pMethods->xTruncate(g->inner, size);
}

int gatherSync(sqlite3_file* f, int flags) {
  if (int rc = flush(gather(f)); rc != SQLITE_OK) return rc;
  return inner(f)->pMethods->xSync(inner(f), flags);
}

int gatherFileSize(sqlite3_file* f, sqlite3_int64* size) {
  // The size the file has once the held bytes are written; no I/O, so no error that a caller could
  // ignore while bytes are held.
  GatherFile* g = gather(f);
  const int rc = g->inner->pMethods->xFileSize(g->inner, size);
  if (rc == SQLITE_OK && !g->held->bytes.empty()) {
    *size = std::max(*size, g->held->offset + static_cast<sqlite3_int64>(g->held->bytes.size()));
  }
  return rc;
}

int gatherLock(sqlite3_file* f, int level) { return inner(f)->pMethods->xLock(inner(f), level); }
int gatherUnlock(sqlite3_file* f, int level) { return inner(f)->pMethods->xUnlock(inner(f), level); }
int gatherCheckReservedLock(sqlite3_file* f, int* out) { return inner(f)->pMethods->xCheckReservedLock(inner(f), out); }
int gatherFileControl(sqlite3_file* f, int op, void* arg) {
  return inner(f)->pMethods->xFileControl(inner(f), op, arg);
}
int gatherSectorSize(sqlite3_file* f) { return inner(f)->pMethods->xSectorSize(inner(f)); }
int gatherDeviceCharacteristics(sqlite3_file* f) { return inner(f)->pMethods->xDeviceCharacteristics(inner(f)); }
int gatherShmMap(sqlite3_file* f, int page, int pageSize, int extend, void volatile** out) {
  return inner(f)->pMethods->xShmMap(inner(f), page, pageSize, extend, out);
}
int gatherShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return inner(f)->pMethods->xShmLock(inner(f), offset, n, flags);
}
void gatherShmBarrier(sqlite3_file* f) { inner(f)->pMethods->xShmBarrier(inner(f)); }
int gatherShmUnmap(sqlite3_file* f, int deleteFlag) { return inner(f)->pMethods->xShmUnmap(inner(f), deleteFlag); }
int gatherFetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  // A memory-mapped read of the file sees only what was written.
  if (int rc = flush(gather(f)); rc != SQLITE_OK) return rc;
  return inner(f)->pMethods->xFetch(inner(f), offset, amount, out);
}
int gatherUnfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return inner(f)->pMethods->xUnfetch(inner(f), offset, p);
}

/// The WAL file's methods: version 3, as the default VFS's (Unix) are. Built from the inner file's
/// version when it opens (see gatherOpen).
sqlite3_io_methods gWalMethods = {
    3,
    gatherClose,
    gatherRead,
    gatherWrite,
    gatherTruncate,
    gatherSync,
    gatherFileSize,
    gatherLock,
    gatherUnlock,
    gatherCheckReservedLock,
    gatherFileControl,
    gatherSectorSize,
    gatherDeviceCharacteristics,
    gatherShmMap,
    gatherShmLock,
    gatherShmBarrier,
    gatherShmUnmap,
    gatherFetch,
    gatherUnfetch,
};

sqlite3_vfs* realVfs(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

int gatherOpen(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* outFlags) {
  sqlite3_vfs* real = realVfs(vfs);
  // Any other file is the default VFS's own object, in place: no layer at all.
  if ((flags & SQLITE_OPEN_WAL) == 0) return real->xOpen(real, name, file, flags, outFlags);
  auto* g = reinterpret_cast<GatherFile*>(file);
  g->base.pMethods = nullptr;
  auto* innerFile = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kHeaderSize);
  innerFile->pMethods = nullptr;
  int rc = real->xOpen(real, name, innerFile, flags, outFlags);
  if (rc != SQLITE_OK) {
    if (innerFile->pMethods != nullptr) innerFile->pMethods->xClose(innerFile);
    return rc;
  }
  if (innerFile->pMethods->iVersion < 3) {
    innerFile->pMethods->xClose(innerFile);
    return SQLITE_CANTOPEN;  // cannot happen with the Unix VFS (version 3); refused rather than half-forwarded
  }
  g->held = new (std::nothrow) Held();
  if (g->held == nullptr) {
    innerFile->pMethods->xClose(innerFile);
    return SQLITE_NOMEM;
  }
  g->inner = innerFile;
  g->base.pMethods = &gWalMethods;
  return SQLITE_OK;
}

int vfsDelete(sqlite3_vfs* v, const char* name, int syncDir) { return realVfs(v)->xDelete(realVfs(v), name, syncDir); }
int vfsAccess(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return realVfs(v)->xAccess(realVfs(v), name, flags, out);
}
int vfsFullPathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return realVfs(v)->xFullPathname(realVfs(v), name, n, out);
}
void* vfsDlOpen(sqlite3_vfs* v, const char* name) { return realVfs(v)->xDlOpen(realVfs(v), name); }
void vfsDlError(sqlite3_vfs* v, int n, char* out) { realVfs(v)->xDlError(realVfs(v), n, out); }
void (*vfsDlSym(sqlite3_vfs* v, void* h, const char* sym))(void) { return realVfs(v)->xDlSym(realVfs(v), h, sym); }
void vfsDlClose(sqlite3_vfs* v, void* h) { realVfs(v)->xDlClose(realVfs(v), h); }
int vfsRandomness(sqlite3_vfs* v, int n, char* out) { return realVfs(v)->xRandomness(realVfs(v), n, out); }
int vfsSleep(sqlite3_vfs* v, int micros) { return realVfs(v)->xSleep(realVfs(v), micros); }
int vfsCurrentTime(sqlite3_vfs* v, double* out) { return realVfs(v)->xCurrentTime(realVfs(v), out); }
int vfsGetLastError(sqlite3_vfs* v, int n, char* out) { return realVfs(v)->xGetLastError(realVfs(v), n, out); }
int vfsCurrentTimeInt64(sqlite3_vfs* v, sqlite3_int64* out) { return realVfs(v)->xCurrentTimeInt64(realVfs(v), out); }
int vfsSetSystemCall(sqlite3_vfs* v, const char* name, sqlite3_syscall_ptr p) {
  return realVfs(v)->xSetSystemCall(realVfs(v), name, p);
}
sqlite3_syscall_ptr vfsGetSystemCall(sqlite3_vfs* v, const char* name) {
  return realVfs(v)->xGetSystemCall(realVfs(v), name);
}
const char* vfsNextSystemCall(sqlite3_vfs* v, const char* name) {
  return realVfs(v)->xNextSystemCall(realVfs(v), name);
}

const char* registerWalGatherVfs() {
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr || real->iVersion < 3) return nullptr;
  static sqlite3_vfs vfs{};
  vfs.iVersion = 3;
  vfs.szOsFile = kHeaderSize + real->szOsFile;
  vfs.mxPathname = real->mxPathname;
  vfs.zName = "talon-wal-gather";
  vfs.pAppData = real;
  vfs.xOpen = gatherOpen;
  vfs.xDelete = vfsDelete;
  vfs.xAccess = vfsAccess;
  vfs.xFullPathname = vfsFullPathname;
  vfs.xDlOpen = vfsDlOpen;
  vfs.xDlError = vfsDlError;
  vfs.xDlSym = vfsDlSym;
  vfs.xDlClose = vfsDlClose;
  vfs.xRandomness = vfsRandomness;
  vfs.xSleep = vfsSleep;
  vfs.xCurrentTime = vfsCurrentTime;
  vfs.xGetLastError = vfsGetLastError;
  vfs.xCurrentTimeInt64 = vfsCurrentTimeInt64;
  vfs.xSetSystemCall = vfsSetSystemCall;
  vfs.xGetSystemCall = vfsGetSystemCall;
  vfs.xNextSystemCall = vfsNextSystemCall;
  if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) return nullptr;
  return vfs.zName;
}

}  // namespace

const char* walGatherVfsName() {
  static const char* const name = registerWalGatherVfs();
  return name;
}

}  // namespace talon::store
