#pragma once
// One transaction's worth of writes, contributed by several repositories. A repository adds write
// operations to a WriteBatch (`SessionRepository::upsert(batch, record)`, `TranscriptRepository::append
// (batch, entry)`, ...); Store::submit() applies every operation of the batch, in the order added, in one
// transaction: all of them or none. A new kind of record brings its own WriteOp subclasses; neither this
// class nor Store changes.
#include <cstddef>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "base/error.h"

namespace talon::store {

/// The backend's open write transaction, handed to WriteOp::apply() on the writer thread. Opaque here:
/// the SQLite backend defines it in store/sqlite_connection.h (a connection with cached statements).
class Transaction;

/// One write of one repository (an upsert, an append, ...). Immutable once added to a batch.
class WriteOp {
 public:
  virtual ~WriteOp() = default;
  /// Checks the record alone (required fields, value ranges) before any transaction opens, so that a
  /// malformed record fails its batch without touching the database. Errors: kInvalidArgument. Runs on
  /// the writer thread; must not block.
  virtual Status validate() const = 0;
  /// Applies the write inside `tx` (writer thread). Errors: kAlreadyExists (a unique key is taken),
  /// kFailedPrecondition (a record it refers to is missing), kInvalidArgument (refused by the schema),
  /// kIo (database failure). A failed op fails its whole batch; the store rolls back.
  virtual Status apply(Transaction& tx) const = 0;
};
using WriteOpPtr = std::unique_ptr<WriteOp>;

/// Writes applied atomically by Store::submit()/write(), in the order they were added. Move-only.
class WriteBatch {
 public:
  WriteBatch() = default;
  WriteBatch(WriteBatch&&) noexcept = default;
  WriteBatch& operator=(WriteBatch&&) noexcept = default;
  WriteBatch(const WriteBatch&) = delete;
  WriteBatch& operator=(const WriteBatch&) = delete;

  /// Appends an operation (not null).
  void add(WriteOpPtr op) { ops_.push_back(std::move(op)); }
  /// Constructs an operation of type Op in place and appends it.
  template <class Op, class... Args>
  void emplace(Args&&... args) {
    ops_.push_back(std::make_unique<Op>(std::forward<Args>(args)...));
  }
  /// Pre-allocates room for `n` operations.
  void reserve(std::size_t n) { ops_.reserve(n); }

  std::size_t size() const { return ops_.size(); }
  bool empty() const { return ops_.empty(); }
  /// The operations, in the order they will be applied.
  std::span<const WriteOpPtr> ops() const { return ops_; }

 private:
  std::vector<WriteOpPtr> ops_;
};

}  // namespace talon::store
