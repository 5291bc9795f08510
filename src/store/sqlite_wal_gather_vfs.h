#pragma once
// A SQLite VFS layer that gathers the writes of a write-ahead log (WAL) into one write per transaction.
// Internal to src/store.
//
// SQLite writes each WAL frame as two writes, its 24-byte header and then its page (wal.c,
// walWriteOneFrame), so a transaction that changes ten pages costs twenty `pwrite` calls. This VFS sits
// over the default one and, for WAL files only, holds contiguous writes in memory and writes them with one
// call when the page of a commit frame (a frame header whose "database size after commit" field is not 0,
// https://sqlite.org/fileformat.html#wal_file_format) has been written — before that xWrite returns, so
// before SQLite publishes the commit in the WAL index and before COMMIT returns (a transaction of more than
// 64 KiB of frames takes one call per 64 KiB: the Unix VFS takes at most 128 KiB - 1 per call). A write
// that fails then fails that xWrite, and the commit fails as it would have. Held bytes are also written
// before any read, sync, truncate or close of the WAL file (a size query counts them as written; file
// controls need none of them), before a write that does not continue them, and in whole 64 KiB pieces
// once kMaxHeldWalBytes are held (a transaction bigger than that, or one bigger than the page cache, which
// spills frames before it commits). Every other file, and every other method, goes straight to the default VFS.
//
// So a reader never sees a commit whose frames are not in the file, and a crash of the process loses
// only frames of a transaction that had not committed: durability is that of the default VFS with
// `synchronous = NORMAL` (the OS's page cache holds the frames; a power loss may lose the last commits).
//
// Thread rules: a file object is used by one connection at a time (SQLite's own rule); registration is
// thread-safe.

namespace talon::store {

/// The most bytes of a WAL file held before they are written even though no commit frame came (a
/// transaction that spills, or one bigger than this): also what the held-write buffer is sized for, so
/// the layer keeps about this much memory per writer connection.
inline constexpr int kMaxHeldWalBytes = 64 * 1024;

/// Registers the VFS (once; later calls return the same name) and returns its name, for
/// sqlite3_open_v2's zVfs. Returns nullptr when SQLite has no default VFS or registration failed: then
/// open the database with the default VFS.
const char* walGatherVfsName();

}  // namespace talon::store
