#include "security/audit_chain.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "base/file_io.h"
#include "store/sqlite_store.h"

namespace talon::security {
namespace {

namespace fs = std::filesystem;

constexpr int kRecords = 8;

// A state dir with a store holding kRecords chained records and a checkpoint of all of them; the store
// is closed so that a test can tamper with the SQLite file directly, then reopen and verify.
class AuditChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "talon-audit-chain-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    openStore();
    auto sink = makeSink();
    for (int i = 1; i <= kRecords; ++i) {
      AuditEvent e;
      e.kind = i % 2 ? "auth.connect" : "config.write";
      e.actor = "operator:" + std::to_string(i);
      e.target = "gateway.port";
      e.outcome = i % 3 ? AuditOutcome::kAllowed : AuditOutcome::kDenied;
      e.details["n"] = i;
      sink->record(std::move(e));
      clock_->advance(1000);
    }
    ASSERT_TRUE(sink->flush());
    ASSERT_TRUE(sink->writeCheckpoint());
    EXPECT_EQ(sink->failures(), 0);
    store_->close();
    store_.reset();
  }
  void TearDown() override {
    if (store_) store_->close();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path dbPath() const { return dir_ / "state" / "talon.sqlite"; }
  void openStore() {
    store::SqliteStoreOptions options;
    options.path = dbPath();
    auto store = store::openSqliteStore(options);
    ASSERT_TRUE(store) << store.error().toString();
    store_ = std::move(*store);
  }
  std::shared_ptr<ChainedAuditSink> makeSink() {
    ChainedAuditSinkOptions options;
    options.checkpointPath = auditCheckpointPath(dir_);
    options.clock = clock_;
    options.logLines = false;
    auto sink = ChainedAuditSink::create(*store_, options);
    EXPECT_TRUE(sink) << sink.error().toString();
    return sink ? *sink : nullptr;
  }
  // Opens the file as an attacker would, without the append-only triggers.
  SQLite::Database tamper() {
    SQLite::Database db(dbPath().string(), SQLite::OPEN_READWRITE);
    db.exec("DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete");
    return db;
  }
  AuditVerifyReport verify() {
    if (!store_) openStore();
    auto cp = readAuditCheckpoint(auditCheckpointPath(dir_));
    EXPECT_TRUE(cp) << cp.error().toString();
    auto report = verifyAuditChain(*store_, cp ? *cp : std::nullopt);
    EXPECT_TRUE(report) << report.error().toString();
    return report ? *report : AuditVerifyReport{};
  }

  fs::path dir_;
  std::shared_ptr<SimulatedClock> clock_ = std::make_shared<SimulatedClock>();
  store::StorePtr store_;
};

TEST(AuditRecordEncoding, IsTheDocumentedOne) {
  store::AuditRecord r;
  r.seq = 1;
  r.timeMs = 5;
  r.kind = "k";
  r.outcome = "allowed";
  r.detailsJson = "{}";
  r.prevHash = std::string(store::kAuditGenesisHash);
  EXPECT_EQ(auditRecordEncoding(r), "talon.audit.v1\n1:1\n1:5\n1:k\n0:\n0:\n7:allowed\n2:{}\n64:" +
                                        std::string(store::kAuditGenesisHash) + "\n");
  // Length prefixes keep field boundaries: moving a character between fields changes the hash.
  store::AuditRecord shifted = r;
  shifted.kind = "";
  shifted.actor = "k";
  EXPECT_NE(auditRecordHash(r), auditRecordHash(shifted));
  EXPECT_EQ(auditRecordHash(r).size(), 64u);
}

TEST_F(AuditChainTest, IntactLogVerifies) {
  auto report = verify();
  EXPECT_TRUE(report.ok) << report.message;
  EXPECT_EQ(report.records, kRecords);
  ASSERT_TRUE(report.checkpoint);
  EXPECT_EQ(report.checkpoint->count, kRecords);
  EXPECT_EQ(report.checkpoint->headHash, report.headHash);
  EXPECT_TRUE(report.warnings.empty());
}

TEST_F(AuditChainTest, EditedRecordIsNamed) {
  tamper().exec("UPDATE audit_events SET outcome = 'allowed' WHERE seq = 3");  // was denied
  auto report = verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.badSeq, 3);
  EXPECT_EQ(report.problem, "hash-mismatch");
  EXPECT_NE(report.message.find("record 3"), std::string::npos) << report.message;
}

TEST_F(AuditChainTest, EditedRecordWithRecomputedHashBreaksTheNextLink) {
  {
    auto db = tamper();
    db.exec("UPDATE audit_events SET details_json = '{\"n\":99}' WHERE seq = 4");
    SQLite::Statement q(db,
                        "SELECT seq, time_ms, kind, actor, target, outcome, details_json, prev_hash FROM "
                        "audit_events WHERE seq = 4");
    ASSERT_TRUE(q.executeStep());
    store::AuditRecord r{q.getColumn(0).getInt64(),  q.getColumn(1).getInt64(),  q.getColumn(2).getString(),
                         q.getColumn(3).getString(), q.getColumn(4).getString(), q.getColumn(5).getString(),
                         q.getColumn(6).getString(), q.getColumn(7).getString(), ""};
    q.reset();
    SQLite::Statement u(db, "UPDATE audit_events SET hash = ? WHERE seq = 4");
    u.bind(1, auditRecordHash(r));
    u.exec();
  }
  auto report = verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.badSeq, 5);
  EXPECT_EQ(report.problem, "chain-broken");
}

TEST_F(AuditChainTest, DeletedRecordIsNamed) {
  tamper().exec("DELETE FROM audit_events WHERE seq = 5");
  auto report = verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.badSeq, 5);
  EXPECT_EQ(report.problem, "missing");
}

TEST_F(AuditChainTest, DeletedFirstRecordIsNamed) {
  tamper().exec("DELETE FROM audit_events WHERE seq = 1");
  auto report = verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.badSeq, 1);
  EXPECT_EQ(report.problem, "missing");
}

TEST_F(AuditChainTest, DeletedAndRenumberedRecordBreaksTheChain) {
  {
    auto db = tamper();
    db.exec("DELETE FROM audit_events WHERE seq = 5");
    db.exec("UPDATE audit_events SET seq = seq + 1000 WHERE seq > 5");
    db.exec("UPDATE audit_events SET seq = seq - 1001 WHERE seq > 1000");
  }
  auto report = verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.badSeq, 5);
  EXPECT_EQ(report.problem, "chain-broken");
}

TEST_F(AuditChainTest, InsertedRecordIsNamed) {
  {
    auto db = tamper();
    db.exec("UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 4");
    db.exec("UPDATE audit_events SET seq = seq - 999 WHERE seq > 1000");
    db.exec(
        "INSERT INTO audit_events (seq, time_ms, kind, actor, target, outcome, details_json, prev_hash, hash) "
        "SELECT 4, time_ms, 'config.write', 'operator:intruder', '', 'allowed', '{}', hash, hash FROM audit_events "
        "WHERE seq = 3");
  }
  auto report = verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.badSeq, 4);
  EXPECT_EQ(report.problem, "hash-mismatch");
}

TEST_F(AuditChainTest, InsertedRecordWithAValidHashBreaksTheNextLink) {
  // A forger who computes the inserted record's hash correctly is caught at the record after it.
  {
    auto db = tamper();
    std::string prev = db.execAndGet("SELECT hash FROM audit_events WHERE seq = 3").getString();
    db.exec("UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 4");
    db.exec("UPDATE audit_events SET seq = seq - 999 WHERE seq > 1000");
    store::AuditRecord forged{4, 1, "config.write", "operator:intruder", "", "allowed", "{}", prev, ""};
    forged.hash = auditRecordHash(forged);
    SQLite::Statement q(
        db,
        "INSERT INTO audit_events (seq, time_ms, kind, actor, target, outcome, details_json, "
        "prev_hash, hash) VALUES (4, 1, 'config.write', 'operator:intruder', '', 'allowed', '{}', ?, ?)");
    q.bind(1, prev);
    q.bind(2, forged.hash);
    q.exec();
  }
  auto report = verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.badSeq, 5);
  EXPECT_EQ(report.problem, "chain-broken");
}

TEST_F(AuditChainTest, ReorderedRecordsAreNamed) {
  {
    auto db = tamper();
    db.exec("UPDATE audit_events SET seq = 1000 WHERE seq = 3");
    db.exec("UPDATE audit_events SET seq = 3 WHERE seq = 6");
    db.exec("UPDATE audit_events SET seq = 6 WHERE seq = 1000");
  }
  auto report = verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.badSeq, 3);
  EXPECT_EQ(report.problem, "chain-broken");
}

TEST_F(AuditChainTest, TruncatedTailIsDetectedThroughTheCheckpoint) {
  tamper().exec("DELETE FROM audit_events WHERE seq > 5");
  auto report = verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.badSeq, 6);
  EXPECT_EQ(report.problem, "truncated");
  EXPECT_NE(report.message.find("records 6..8 were removed"), std::string::npos) << report.message;
}

TEST_F(AuditChainTest, TruncatedTailIsNotBlessedByALaterCheckpoint) {
  tamper().exec("DELETE FROM audit_events WHERE seq > 5");
  openStore();
  auto sink = makeSink();  // logs that the log does not extend the checkpoint; still records
  ASSERT_TRUE(sink);
  for (int i = 0; i < 5; ++i) sink->record(AuditEvent{"gateway.start", "system", "", AuditOutcome::kAllowed, {}});
  ASSERT_TRUE(sink->flush());
  auto st = sink->writeCheckpoint();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
  auto report = verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.badSeq, 8);  // 10 records now, but record 8 is not the one the checkpoint saw
  EXPECT_EQ(report.problem, "checkpoint-mismatch");
}

TEST_F(AuditChainTest, RewrittenChainIsCaughtByTheCheckpoint) {
  // Every hash recomputed after an edit: the chain is consistent, the checkpoint is not.
  {
    auto db = tamper();
    db.exec("UPDATE audit_events SET actor = 'operator:someone-else' WHERE seq = 2");
    std::string prev(store::kAuditGenesisHash);
    for (int seq = 1; seq <= kRecords; ++seq) {
      SQLite::Statement q(db,
                          "SELECT seq, time_ms, kind, actor, target, outcome, details_json FROM audit_events "
                          "WHERE seq = ?");
      q.bind(1, seq);
      ASSERT_TRUE(q.executeStep());
      store::AuditRecord r{q.getColumn(0).getInt64(),
                           q.getColumn(1).getInt64(),
                           q.getColumn(2).getString(),
                           q.getColumn(3).getString(),
                           q.getColumn(4).getString(),
                           q.getColumn(5).getString(),
                           q.getColumn(6).getString(),
                           prev,
                           ""};
      r.hash = auditRecordHash(r);
      SQLite::Statement u(db, "UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?");
      u.bind(1, r.prevHash);
      u.bind(2, r.hash);
      u.bind(3, seq);
      u.exec();
      prev = r.hash;
    }
  }
  auto report = verify();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.badSeq, kRecords);
  EXPECT_EQ(report.problem, "checkpoint-mismatch");
}

TEST_F(AuditChainTest, MissingCheckpointIsAWarning) {
  fs::remove(auditCheckpointPath(dir_));
  auto report = verify();
  EXPECT_TRUE(report.ok);
  ASSERT_EQ(report.warnings.size(), 1u);
}

TEST_F(AuditChainTest, MalformedCheckpointIsAnError) {
  ASSERT_TRUE(writeFileAtomic(auditCheckpointPath(dir_), "{\"version\":1}"));
  auto cp = readAuditCheckpoint(auditCheckpointPath(dir_));
  ASSERT_FALSE(cp);
  EXPECT_EQ(cp.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(AuditChainTest, AppendsAfterReopenContinueTheChain) {
  openStore();
  auto sink = makeSink();
  ASSERT_TRUE(sink);
  sink->record(AuditEvent{"gateway.stop", "system", "", AuditOutcome::kAllowed, {}});
  ASSERT_TRUE(sink->flush());
  ASSERT_TRUE(sink->writeCheckpoint());
  auto report = verify();
  EXPECT_TRUE(report.ok) << report.message;
  EXPECT_EQ(report.records, kRecords + 1);
  ASSERT_TRUE(report.checkpoint);
  EXPECT_EQ(report.checkpoint->count, kRecords + 1);
  auto json = auditVerifyReportToJson(report);
  EXPECT_TRUE(json.at("ok").as_bool());
}

TEST_F(AuditChainTest, RecordToJsonCarriesParsedDetails) {
  openStore();
  auto records = store_->audit().list({});
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), static_cast<std::size_t>(kRecords));
  auto o = auditRecordToJson(records->front());
  EXPECT_EQ(o.at("seq").as_int64(), 1);
  EXPECT_EQ(o.at("details").as_object().at("n").as_int64(), 1);
  EXPECT_EQ(o.at("outcome").as_string(), "allowed");
  EXPECT_EQ(o.at("time").as_string(), "2023-11-14T22:13:20.000Z");
}

}  // namespace
}  // namespace talon::security
