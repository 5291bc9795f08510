#include "support/mail_servers.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/loopback_port.h"

namespace talon::testing {

namespace {

constexpr const char* kDovecot = "/usr/sbin/dovecot";
constexpr const char* kDovecotLda = "/usr/lib/dovecot/dovecot-lda";
constexpr const char* kPython = "/usr/bin/python3";  // Debian's, where python3-aiosmtpd installs

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// SIGTERM, then waits up to 10 s (SIGKILL after), then until nothing listens on `port`.
void terminate(pid_t& pid, uint16_t port) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid = -1;
  const auto portDeadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (acceptsOnLoopback(port) && std::chrono::steady_clock::now() < portDeadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

/// The submission server: AUTH (PLAIN / LOGIN) by one user, only after STARTTLS; every accepted message
/// stored in a Maildir with its envelope. argv: port user password maildir cert key.
constexpr const char* kSubmissionScript = R"PY(import asyncio, mailbox, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, user, password, maildir, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False)

class Store:
    async def handle_DATA(self, server, session, envelope):
        box = mailbox.Maildir(maildir, create=True)
        data = envelope.original_content or envelope.content
        box.add(b"X-MailFrom: " + envelope.mail_from.encode() + b"\r\nX-RcptTo: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n" + data)
        return "250 OK stored"

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(Store(), hostname="127.0.0.1", port=port, authenticator=authenticator, auth_required=True,
                        auth_require_tls=True, require_starttls=True, tls_context=context)
controller.start()
print("listening on", port, flush=True)
try:
    asyncio.new_event_loop().run_forever()
except KeyboardInterrupt:
    pass
)PY";

}  // namespace

// --- Dovecot ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<DovecotServer>> DovecotServer::start(std::map<std::string, std::string> users) {
  if (::access(kDovecot, X_OK) != 0) {
    return fail(ErrorCode::kNotFound,
                std::string(kDovecot) + " is not installed (scripts/install-deps.sh installs dovecot-imapd)");
  }
  std::unique_ptr<DovecotServer> server(new DovecotServer());
  server->users_ = std::move(users);
  auto port = freeLoopbackPort();
  if (!port) return fail(port.error());
  server->port_ = *port;
  const auto& dir = server->dir_.path();
  std::string internalUser, loginUser, mailUser;
  if (::geteuid() == 0) {
    // Dovecot refuses to run its login and mail processes as root: Debian's own users.
    internalUser = "dovecot";
    loginUser = "dovenull";
    mailUser = "dovecot";
  } else {
    const passwd* pw = ::getpwuid(::geteuid());
    if (pw == nullptr) return fail(ErrorCode::kIo, "cannot name the current user");
    internalUser = loginUser = mailUser = pw->pw_name;
  }
  std::filesystem::create_directories(dir / "mail");
  std::ofstream usersFile(dir / "users");
  for (const auto& [name, password] : server->users_) usersFile << name << ":{PLAIN}" << password << "::::::\n";
  usersFile.close();
  std::ofstream conf(dir / "dovecot.conf");
  conf << "protocols = imap\n"
       << "listen = 127.0.0.1\n"
       << "base_dir = " << (dir / "run").string() << "\n"
       << "state_dir = " << (dir / "state").string() << "\n"
       << "log_path = " << (dir / "dovecot.log").string() << "\n"
       << "ssl = no\n"
       << "disable_plaintext_auth = no\n"
       << "auth_mechanisms = plain login\n"
       << "default_internal_user = " << internalUser << "\n"
       << "default_internal_group = " << internalUser << "\n"
       << "default_login_user = " << loginUser << "\n"
       << "first_valid_uid = 1\nfirst_valid_gid = 1\n"
       << "postmaster_address = postmaster@example.net\n"
       << "passdb {\n  driver = passwd-file\n  args = scheme=PLAIN " << (dir / "users").string() << "\n}\n"
       << "userdb {\n  driver = static\n  args = uid=" << mailUser << " gid=" << mailUser
       << " home=" << (dir / "mail").string() << "/%u\n}\n"
       << "mail_location = maildir:" << (dir / "mail").string() << "/%u/Maildir\n"
       << "service imap-login {\n  inet_listener imap {\n    address = 127.0.0.1\n    port = " << server->port_
       << "\n  }\n  inet_listener imaps {\n    port = 0\n  }\n  chroot =\n}\n"
       << "service anvil {\n  chroot =\n}\n"
       << "service auth {\n  unix_listener " << (dir / "auth-smtp").string() << " {\n    mode = 0666\n  }\n}\n";
  conf.close();
  if (!conf || !usersFile) return fail(ErrorCode::kIo, "cannot write the dovecot config");
  // The unprivileged processes read the users file and write the mail under the temp dir.
  ::chmod(dir.c_str(), 0755);
  ::chmod((dir / "users").c_str(), 0644);
  if (::geteuid() == 0) {
    if (const passwd* pw = ::getpwnam(mailUser.c_str()); pw != nullptr) {
      if (::chown((dir / "mail").c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        return fail(ErrorCode::kIo, "cannot give the mail dir to " + mailUser);
      }
    } else {
      return fail(ErrorCode::kNotFound, "no user " + mailUser + " (dovecot-core creates it)");
    }
  }
  if (auto s = server->launch(); !s) return fail(s.error());
  return server;
}

Status DovecotServer::launch() {
  const auto conf = (dir_.path() / "dovecot.conf").string();
  auto pid = startLoopbackServer("dovecot", std::vector<std::string>{kDovecot, "-F", "-c", conf},
                                 (dir_.path() / "dovecot.out").string(), {port_});
  if (!pid) return fail(Error{pid.error().code, pid.error().message + "\n" + log()});
  pid_ = *pid;
  return {};
}

std::string DovecotServer::url() const { return "imap://127.0.0.1:" + std::to_string(port_); }

Status DovecotServer::deliver(const std::string& user, const std::string& message) const {
  if (!users_.contains(user)) return fail(ErrorCode::kNotFound, "no user " + user);
  const auto mailFile = dir_.path() / "deliver.eml";
  std::ofstream out(mailFile, std::ios::binary | std::ios::trunc);
  out << message;
  out.close();
  if (!out) return fail(ErrorCode::kIo, "cannot write " + mailFile.string());
  const auto output = dir_.path() / "deliver.out";
  const std::string command = std::string(kDovecotLda) + " -c '" + (dir_.path() / "dovecot.conf").string() + "' -d '" +
                              user + "' < '" + mailFile.string() + "' > '" + output.string() + "' 2>&1";
  if (std::system(command.c_str()) != 0) {
    return fail(ErrorCode::kIo, "dovecot-lda failed: " + readFile(output) + "\n" + log());
  }
  return {};
}

void DovecotServer::stop() { terminate(pid_, port_); }

Status DovecotServer::restart() {
  stop();
  return launch();
}

std::string DovecotServer::log() const { return readFile(dir_.path() / "dovecot.log"); }

std::string DovecotServer::authSocket() const { return (dir_.path() / "auth-smtp").string(); }

DovecotServer::~DovecotServer() { stop(); }

// --- the submission server -------------------------------------------------------------------------------

Result<std::unique_ptr<SubmissionServer>> SubmissionServer::start(const std::string& username,
                                                                  const std::string& password) {
  if (::access(kPython, X_OK) != 0 || std::system("/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1") != 0) {
    return fail(ErrorCode::kNotFound, "python3-aiosmtpd is not installed (scripts/install-deps.sh)");
  }
  std::unique_ptr<SubmissionServer> server(new SubmissionServer());
  server->username_ = username;
  server->password_ = password;
  auto port = freeLoopbackPort();
  if (!port) return fail(port.error());
  server->port_ = *port;
  const auto& dir = server->dir_.path();
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
      (dir / "key.pem").string() + "' -out '" + (dir / "cert.pem").string() + "' >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) return fail(ErrorCode::kIo, "openssl could not make a certificate");
  std::ofstream script(dir / "submission.py");
  script << kSubmissionScript;
  script.close();
  if (!script) return fail(ErrorCode::kIo, "cannot write the submission server's script");
  if (auto s = server->launch(); !s) return fail(s.error());
  return server;
}

Status SubmissionServer::launch() {
  const auto& dir = dir_.path();
  auto pid = startLoopbackServer(
      "aiosmtpd",
      std::vector<std::string>{kPython, (dir / "submission.py").string(), std::to_string(port_), username_, password_,
                               (dir / "Maildir").string(), (dir / "cert.pem").string(), (dir / "key.pem").string()},
      (dir / "submission.log").string(), {port_});
  if (!pid) return fail(pid.error());
  pid_ = *pid;
  return {};
}

std::string SubmissionServer::url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

std::string SubmissionServer::certificateFile() const { return (dir_.path() / "cert.pem").string(); }

std::vector<std::string> SubmissionServer::messages() const {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_.path() / "Maildir" / "new", ec)) {
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
    std::error_code e1, e2;
    const auto ta = std::filesystem::last_write_time(a, e1);
    const auto tb = std::filesystem::last_write_time(b, e2);
    return ta != tb ? ta < tb : a.filename() < b.filename();
  });
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(readFile(f));
  return out;
}

void SubmissionServer::stop() { terminate(pid_, port_); }

Status SubmissionServer::restart() {
  stop();
  return launch();
}

std::string SubmissionServer::log() const { return readFile(dir_.path() / "submission.log"); }

SubmissionServer::~SubmissionServer() { stop(); }

// --- Postfix ---------------------------------------------------------------------------------------------

namespace {

constexpr const char* kPostfix = "/usr/sbin/postfix";

/// The services a submission-only instance needs; none chrooted (the temp dir is outside any chroot).
constexpr const char* kPostfixMasterCf =
    "pickup    unix  n       -       n       60      1       pickup\n"
    "cleanup   unix  n       -       n       -       0       cleanup\n"
    "qmgr      unix  n       -       n       300     1       qmgr\n"
    "tlsmgr    unix  -       -       n       1000?   1       tlsmgr\n"
    "rewrite   unix  -       -       n       -       -       trivial-rewrite\n"
    "bounce    unix  -       -       n       -       0       bounce\n"
    "defer     unix  -       -       n       -       0       bounce\n"
    "trace     unix  -       -       n       -       0       bounce\n"
    "verify    unix  -       -       n       -       1       verify\n"
    "flush     unix  n       -       n       1000?   0       flush\n"
    "proxymap  unix  -       -       n       -       -       proxymap\n"
    "smtp      unix  -       -       n       -       -       smtp\n"
    "relay     unix  -       -       n       -       -       smtp\n"
    "showq     unix  n       -       n       -       -       showq\n"
    "error     unix  -       -       n       -       -       error\n"
    "retry     unix  -       -       n       -       -       error\n"
    "discard   unix  -       -       n       -       -       discard\n"
    "anvil     unix  -       -       n       -       1       anvil\n"
    "scache    unix  -       -       n       -       1       scache\n"
    "postlog   unix-dgram n  -       n       -       1       postlogd\n";

}  // namespace

Result<std::unique_ptr<PostfixServer>> PostfixServer::start(const DovecotServer& auth, const SubmissionServer& relay,
                                                            const std::string& relayUser,
                                                            const std::string& relayPassword) {
  if (::access(kPostfix, X_OK) != 0)
    return fail(ErrorCode::kNotFound, "postfix is not installed (scripts/install-deps.sh)");
  if (::geteuid() != 0) return fail(ErrorCode::kFailedPrecondition, "a private Postfix instance needs root");
  const passwd* owner = ::getpwnam("postfix");
  if (owner == nullptr) return fail(ErrorCode::kNotFound, "no user postfix (the postfix package creates it)");
  std::unique_ptr<PostfixServer> server(new PostfixServer());
  auto port = freeLoopbackPort();
  if (!port) return fail(port.error());
  server->port_ = *port;
  const auto& dir = server->dir_.path();
  ::chmod(dir.c_str(), 0755);
  std::error_code ec;
  for (const char* sub : {"conf", "queue", "data"}) std::filesystem::create_directories(dir / sub, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot make the postfix directories: " + ec.message());
  if (::chown((dir / "data").c_str(), owner->pw_uid, owner->pw_gid) != 0) {
    return fail(ErrorCode::kIo, "cannot give the data directory to postfix");
  }
  const std::string cert =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
      (dir / "key.pem").string() + "' -out '" + (dir / "cert.pem").string() + "' >/dev/null 2>&1";
  if (std::system(cert.c_str()) != 0) return fail(ErrorCode::kIo, "openssl could not make a certificate");
  std::ofstream main(dir / "conf" / "main.cf");
  main << "compatibility_level = 3.6\n"
       << "queue_directory = " << (dir / "queue").string() << "\n"
       << "data_directory = " << (dir / "data").string() << "\n"
       << "mail_owner = postfix\nsetgid_group = postdrop\n"
       << "inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n"
       << "myhostname = localhost\nmydomain = localdomain\nmydestination =\n"
       << "local_transport = error:no local delivery\nalias_maps =\nalias_database =\n"
       // Postfix writes its log only under maillog_file_prefixes (default /var, /dev/stdout).
       << "maillog_file_prefixes = " << dir.string() << "\n"
       << "maillog_file = " << (dir / "postfix.log").string()
       << "\n"
       // Submission: STARTTLS, then AUTH through Dovecot; only authenticated clients may send.
       << "smtpd_tls_cert_file = " << (dir / "cert.pem").string() << "\n"
       << "smtpd_tls_key_file = " << (dir / "key.pem").string() << "\n"
       << "smtpd_tls_security_level = may\nsmtpd_tls_auth_only = yes\n"
       << "smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\n"
       << "smtpd_sasl_path = " << auth.authSocket() << "\n"
       << "smtpd_relay_restrictions = permit_sasl_authenticated, reject\n"
       << "smtpd_recipient_restrictions = permit_sasl_authenticated, reject\n"
       // Relay everything to the peer's mailbox server, over STARTTLS with AUTH.
       << "relayhost = [127.0.0.1]:" << relay.port() << "\n"
       << "smtp_tls_security_level = encrypt\n"
       << "smtp_sasl_auth_enable = yes\nsmtp_sasl_security_options = noanonymous\n"
       << "smtp_sasl_tls_security_options = noanonymous\n"
       << "smtp_sasl_password_maps = static:" << relayUser << ":" << relayPassword
       << "\n"
       // A test wants its mail now: no delivery backoff beyond a second.
       << "queue_run_delay = 1s\nminimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n";
  main.close();
  std::ofstream master(dir / "conf" / "master.cf");
  master << "127.0.0.1:" << server->port_ << " inet n - n - - smtpd\n" << kPostfixMasterCf;
  master.close();
  if (!main || !master) return fail(ErrorCode::kIo, "cannot write the postfix config");
  // `postfix start-fg` creates the queue's directories with their owners (postfix-script check-fatal).
  if (auto s = server->launch(); !s) return fail(s.error());
  return server;
}

Status PostfixServer::launch() {
  const auto& dir = dir_.path();
  auto pid =
      startLoopbackServer("postfix", std::vector<std::string>{kPostfix, "-c", (dir / "conf").string(), "start-fg"},
                          (dir / "postfix.out").string(), {port_});
  if (!pid) return fail(Error{pid.error().code, pid.error().message + "\n" + log()});
  pid_ = *pid;
  return {};
}

std::string PostfixServer::url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

std::string PostfixServer::certificateFile() const { return (dir_.path() / "cert.pem").string(); }

void PostfixServer::stop() {
  if (pid_ <= 0) return;
  // `postfix stop` ends the master and its services; start-fg's script then exits (reaped below).
  const std::string command =
      std::string(kPostfix) + " -c '" + (dir_.path() / "conf").string() + "' stop >/dev/null 2>&1";
  // A failed `postfix stop` (the master already gone) leaves only the script, which terminate() ends.
  [[maybe_unused]] const int stopped = std::system(command.c_str());
  terminate(pid_, port_);
}

Status PostfixServer::restart() {
  stop();
  return launch();
}

std::string PostfixServer::log() const {
  return readFile(dir_.path() / "postfix.log") + readFile(dir_.path() / "postfix.out");
}

PostfixServer::~PostfixServer() { stop(); }

}  // namespace talon::testing
