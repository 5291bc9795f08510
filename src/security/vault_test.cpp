#include "security/vault.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "store/sqlite_store.h"

namespace talon::security {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kVaultCanary = "canary-vault-5d1c-value";

class VaultAuditRecorder final : public AuditSink {
 public:
  void record(AuditEvent e) override {
    std::lock_guard lock(mu);
    events.push_back(std::move(e));
  }
  std::mutex mu;
  std::vector<AuditEvent> events;
};

VaultKeySource passphrase(std::string_view p) {
  VaultKeySource k;
  k.passphrase = Secret(p);
  return k;
}

class VaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "talon-vault-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    reopenStore();
  }
  void TearDown() override {
    if (store_) store_->close();
    fs::remove_all(dir_);
  }
  void reopenStore() {
    if (store_) store_->close();
    store::SqliteStoreOptions o;
    o.path = dir_ / "talon.sqlite";
    auto s = store::openSqliteStore(o);
    ASSERT_TRUE(s) << s.error().toString();
    store_ = std::move(*s);
  }
  VaultOptions options() {
    VaultOptions o;
    o.kdf.opslimit = 1;     // crypto_pwhash_OPSLIMIT_MIN: fast tests
    o.kdf.memlimit = 8192;  // crypto_pwhash_MEMLIMIT_MIN
    o.audit = &audit_;
    o.actor = "cli:test";
    return o;
  }
  std::unique_ptr<Vault> open(const VaultKeySource& k) {
    auto v = Vault::open(*store_, k, options());
    EXPECT_TRUE(v) << v.error().toString();
    return v ? std::move(*v) : nullptr;
  }
  fs::path keyFile(std::string_view name, std::string_view hex, mode_t mode) {
    fs::path p = dir_ / name;
    std::ofstream(p) << hex << "\n";
    ::chmod(p.c_str(), mode);
    return p;
  }
  // Every byte of the database files, for canary checks.
  std::string databaseBytes() {
    store_->close();
    std::string all;
    for (const auto& e : fs::directory_iterator(dir_)) {
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      all += ss.str();
    }
    reopenStore();
    return all;
  }

  fs::path dir_;
  store::StorePtr store_;
  VaultAuditRecorder audit_;
};

config::SecretRef storeRef(std::string id) { return config::SecretRef{"store", "default", std::move(id), "x.apiKey"}; }

TEST_F(VaultTest, SetGetListRemoveWithAPassphrase) {
  auto v = open(passphrase("correct horse"));
  ASSERT_TRUE(v);
  ASSERT_TRUE(v->set("OPENAI_KEY", Secret(kVaultCanary), {}));
  ASSERT_TRUE(v->set("OPS_TOKEN", Secret("t"), {"ops", "main", "ops"}));
  auto got = v->get("OPENAI_KEY");
  ASSERT_TRUE(got) << got.error().toString();
  EXPECT_EQ(got->reveal(), kVaultCanary);
  auto list = v->list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "OPENAI_KEY");
  EXPECT_EQ((*list)[1].agents, (std::vector<std::string>{"main", "ops"}));
  ASSERT_TRUE(v->remove("OPS_TOKEN"));
  auto again = v->remove("OPS_TOKEN");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(v->get("OPS_TOKEN").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(v->set("lower", Secret("x"), {}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(v->set("EMPTY", Secret(""), {}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(v->set("BAD_AGENT", Secret("x"), {"a,b"}).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(VaultTest, ValuesAreEncryptedAtRest) {
  auto v = open(passphrase("correct horse"));
  ASSERT_TRUE(v->set("OPENAI_KEY", Secret(kVaultCanary), {}));
  v.reset();
  std::string bytes = databaseBytes();
  EXPECT_EQ(bytes.find(kVaultCanary), std::string::npos);
  EXPECT_EQ(bytes.find("correct horse"), std::string::npos);
  EXPECT_NE(bytes.find("OPENAI_KEY"), std::string::npos);  // names are not secret
}

TEST_F(VaultTest, AWrongPassphraseIsRefused) {
  ASSERT_TRUE(open(passphrase("correct horse")));
  auto wrong = Vault::open(*store_, passphrase("battery staple"), options());
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthenticated);
  ASSERT_FALSE(audit_.events.empty());
  EXPECT_EQ(audit_.events.back().kind, "vault.open");
  EXPECT_EQ(audit_.events.back().outcome, AuditOutcome::kDenied);
  auto reopened = open(passphrase("correct horse"));
  EXPECT_TRUE(reopened);
}

TEST_F(VaultTest, KeySourceMustBeExactlyOne) {
  VaultKeySource none;
  EXPECT_EQ(Vault::open(*store_, none, options()).error().code, ErrorCode::kInvalidArgument);
  VaultKeySource both = passphrase("p");
  both.keyFile = "/x";
  EXPECT_EQ(Vault::open(*store_, both, options()).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(VaultTest, KeyFileMustBePrivate) {
  const std::string hex(64, 'a');
  VaultKeySource k;
  k.keyFile = keyFile("open.key", hex, 0644);
  auto open1 = Vault::open(*store_, k, options());
  ASSERT_FALSE(open1);
  EXPECT_EQ(open1.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(open1.error().message.find("group or others"), std::string::npos);
  k.keyFile = keyFile("group.key", hex, 0640);
  EXPECT_EQ(Vault::open(*store_, k, options()).error().code, ErrorCode::kPermissionDenied);
  fs::path good = keyFile("good.key", hex, 0600);
  fs::create_symlink(good, dir_ / "link.key");
  k.keyFile = dir_ / "link.key";
  EXPECT_EQ(Vault::open(*store_, k, options()).error().code, ErrorCode::kPermissionDenied);
  k.keyFile = keyFile("short.key", "abcd", 0600);
  EXPECT_EQ(Vault::open(*store_, k, options()).error().code, ErrorCode::kInvalidArgument);
  k.keyFile = good;
  auto v = open(k);
  ASSERT_TRUE(v);
  ASSERT_TRUE(v->set("A", Secret("v"), {}));
  // A key-file vault refuses a passphrase, and another key.
  EXPECT_EQ(Vault::open(*store_, passphrase("p"), options()).error().code, ErrorCode::kFailedPrecondition);
  k.keyFile = keyFile("other.key", std::string(64, 'b'), 0400);
  EXPECT_EQ(Vault::open(*store_, k, options()).error().code, ErrorCode::kUnauthenticated);
}

TEST_F(VaultTest, ReadsAreScopedToGrantedAgents) {
  auto v = open(passphrase("p"));
  ASSERT_TRUE(v->set("TEAM_KEY", Secret("team"), {}));
  ASSERT_TRUE(v->set("OPS_KEY", Secret("ops"), {"ops", "oncall"}));
  std::vector<std::string> ops{"ops"};
  std::vector<std::string> both{"ops", "oncall"};
  std::vector<std::string> main{"main"};
  std::vector<std::string> mixed{"ops", "main"};
  EXPECT_EQ(v->read(storeRef("TEAM_KEY"), {})->reveal(), "team");
  EXPECT_EQ(v->read(storeRef("TEAM_KEY"), main)->reveal(), "team");
  EXPECT_EQ(v->read(storeRef("OPS_KEY"), ops)->reveal(), "ops");
  EXPECT_EQ(v->read(storeRef("OPS_KEY"), both)->reveal(), "ops");
  for (auto agents : {std::vector<std::string>{}, main, mixed}) {
    auto denied = v->read(storeRef("OPS_KEY"), agents);
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
    EXPECT_NE(denied.error().message.find("x.apiKey"), std::string::npos);
  }
  int denials = 0;
  for (const auto& e : audit_.events) {
    if (e.kind == "secret.read" && e.outcome == AuditOutcome::kDenied) {
      ++denials;
      EXPECT_EQ(e.target, "OPS_KEY");
    }
  }
  EXPECT_EQ(denials, 3);
}

TEST_F(VaultTest, AGrantCannotBeWidenedInTheDatabase) {
  auto v = open(passphrase("p"));
  ASSERT_TRUE(v->set("OPS_KEY", Secret("ops"), {"ops"}));
  ASSERT_TRUE(v->set("OTHER", Secret("other"), {}));
  v.reset();
  store_->close();
  {
    SQLite::Database db((dir_ / "talon.sqlite").string(), SQLite::OPEN_READWRITE);
    db.exec("UPDATE vault_secrets SET agents = '' WHERE name = 'OPS_KEY'");
    // A value moved under another name does not open either.
    db.exec(
        "UPDATE vault_secrets SET nonce = (SELECT nonce FROM vault_secrets WHERE name = 'OPS_KEY'), "
        "ciphertext = (SELECT ciphertext FROM vault_secrets WHERE name = 'OPS_KEY') WHERE name = 'OTHER'");
  }
  reopenStore();
  v = open(passphrase("p"));
  auto widened = v->read(storeRef("OPS_KEY"), {});
  ASSERT_FALSE(widened);
  EXPECT_EQ(widened.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(v->get("OTHER").error().code, ErrorCode::kUnauthenticated);
}

TEST_F(VaultTest, RotateReencryptsUnderANewKey) {
  auto v = open(passphrase("old"));
  ASSERT_TRUE(v->set("A", Secret(kVaultCanary), {}));
  ASSERT_TRUE(v->set("B", Secret("b"), {"ops"}));
  ASSERT_TRUE(v->rotate(passphrase("new")));
  EXPECT_EQ(v->get("A")->reveal(), kVaultCanary);
  v.reset();
  EXPECT_EQ(Vault::open(*store_, passphrase("old"), options()).error().code, ErrorCode::kUnauthenticated);
  v = open(passphrase("new"));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->get("B")->reveal(), "b");
  // To a key file and back.
  VaultKeySource k;
  k.keyFile = keyFile("k", std::string(64, 'c'), 0600);
  ASSERT_TRUE(v->rotate(k));
  v.reset();
  v = open(k);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->get("A")->reveal(), kVaultCanary);
  bool rotated = false;
  for (const auto& e : audit_.events)
    rotated = rotated || (e.kind == "secret.rotate" && e.outcome == AuditOutcome::kAllowed);
  EXPECT_TRUE(rotated);
}

TEST_F(VaultTest, AuditEventsNeverCarryValues) {
  auto v = open(passphrase("p"));
  ASSERT_TRUE(v->set("A", Secret(kVaultCanary), {"main"}));
  ASSERT_TRUE(v->get("A"));
  std::vector<std::string> main{"main"};
  ASSERT_TRUE(v->read(storeRef("A"), main));
  ASSERT_TRUE(v->rotate(passphrase("q")));
  ASSERT_GE(audit_.events.size(), 4u);
  for (const auto& e : audit_.events) {
    std::string all = e.kind + e.actor + e.target + boost::json::serialize(e.details);
    EXPECT_EQ(all.find(kVaultCanary), std::string::npos) << all;
    EXPECT_EQ(e.actor, "cli:test");
  }
}

TEST(VaultKeySourceFromEnv, KeyFileWinsOverPassphrase) {
  EXPECT_FALSE(vaultKeySourceFromEnv({}));
  auto p = vaultKeySourceFromEnv({{"TALON_VAULT_PASSPHRASE", "pp"}});
  ASSERT_TRUE(p && p->passphrase);
  EXPECT_EQ(p->passphrase->reveal(), "pp");
  auto f = vaultKeySourceFromEnv({{"TALON_VAULT_PASSPHRASE", "pp"}, {"TALON_VAULT_KEY_FILE", "/k"}});
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->passphrase);
  EXPECT_EQ(f->keyFile, "/k");
}

}  // namespace
}  // namespace talon::security
