#include "gateway/gateway_lock.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "base/file_io.h"
#include "support/temp_dir.h"

namespace talon::gateway {
namespace {

TEST(GatewayLock, SecondHolderOfTheSameStateDirIsRefusedWithTheFirstOnesPidAndPort) {
  testing::TempDir dir;
  auto first = GatewayLock::acquire(dir.path(), {4242, 1000, 0});
  ASSERT_TRUE(first) << first.error().toString();
  ASSERT_TRUE((*first)->setPort(18789));
  // Another open file description, as another process would have: refused.
  auto second = GatewayLock::acquire(dir.path(), {static_cast<int64_t>(::getpid()), 2000, 0});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(second.error().message.find("pid 4242, port 18789"), std::string::npos) << second.error().message;
  EXPECT_NE(second.error().message.find(dir.path().string()), std::string::npos);
  EXPECT_EQ(exitCode(second.error().code), 78);
  // Released: the next one gets it.
  first->reset();
  auto third = GatewayLock::acquire(dir.path(), {static_cast<int64_t>(::getpid()), 3000, 0});
  ASSERT_TRUE(third) << third.error().toString();
  auto content = readFile(dir / GatewayLock::kFileName);
  ASSERT_TRUE(content);
  EXPECT_NE(content->find("\"pid\":" + std::to_string(::getpid())), std::string::npos) << *content;
}

TEST(GatewayLock, LockOfAKilledProcessIsTakenOverAndProbedAsStale) {
  testing::TempDir dir;
  auto path = (dir / GatewayLock::kFileName).string();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only async-signal-safe calls here: take the lock as a gateway would, say so, wait to be killed.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
    if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) ::_exit(1);
    char text[64];
    int n = 0;
    const char head[] = "{\"pid\":";
    for (char c : head) {
      if (c) text[n++] = c;
    }
    char digits[16];
    int d = 0;
    for (pid_t p = ::getpid(); p > 0; p /= 10) digits[d++] = static_cast<char>('0' + p % 10);
    while (d > 0) text[n++] = digits[--d];
    text[n++] = '}';
    if (::write(fd, text, n) != n) ::_exit(1);
    if (::write(ready[1], "x", 1) != 1) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char byte;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);

  auto held = probeGatewayLock(dir.path());
  ASSERT_TRUE(held);
  EXPECT_TRUE(held->held);
  EXPECT_TRUE(held->ownerAlive);
  auto refused = GatewayLock::acquire(dir.path(), {static_cast<int64_t>(::getpid()), 1, 0});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(refused.error().message.find("pid " + std::to_string(child)), std::string::npos);

  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);

  auto stale = probeGatewayLock(dir.path());
  ASSERT_TRUE(stale);
  EXPECT_TRUE(stale->fileExists);
  EXPECT_FALSE(stale->held);
  ASSERT_TRUE(stale->owner);
  EXPECT_EQ(stale->owner->pid, child);
  EXPECT_FALSE(stale->ownerAlive);

  auto taken = GatewayLock::acquire(dir.path(), {static_cast<int64_t>(::getpid()), 5, 0});
  ASSERT_TRUE(taken) << taken.error().toString();
  auto now = probeGatewayLock(dir.path());
  ASSERT_TRUE(now && now->owner);
  EXPECT_TRUE(now->held);
  EXPECT_EQ(now->owner->pid, ::getpid());
}

TEST(GatewayLock, UnopenableLockFileIsAnIoErrorNamingThePath) {
  testing::TempDir dir;
  auto missing = dir / "no" / "such" / "dir";
  auto lock = GatewayLock::acquire(missing, {1, 1, 0});
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().code, ErrorCode::kIo);
  EXPECT_NE(lock.error().message.find((missing / GatewayLock::kFileName).string()), std::string::npos);
  auto probe = probeGatewayLock(missing);
  ASSERT_TRUE(probe);
  EXPECT_FALSE(probe->fileExists);
}

}  // namespace
}  // namespace talon::gateway
