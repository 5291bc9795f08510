// The compose and kubernetes deployers without a docker daemon or a cluster (none runs here): the command
// lines they build, the parsing of what docker compose and kubectl print, the state mapping, and check()
// against this machine's real (daemon-less, cluster-less) docker and kubectl, which must name what is missing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "base/file_io.h"
#include "fleet/deployers/compose_deployer.h"
#include "fleet/deployers/container_deploy.h"
#include "fleet/deployers/kubernetes_deployer.h"
#include "fleet/fleet_test_util.h"
#include "fleet/local_process.h"

namespace talon::fleet {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

using Argv = std::vector<std::string>;

// ---- compose ----

TEST(ComposeDeployerTest, BuildsItsCommandLines) {
  Argv plugin{"docker", "compose"};
  EXPECT_EQ(composeCommand(plugin, "talon-a", "/st/gateways/a/compose/compose.yaml", composeUpArgs()),
            (Argv{"docker", "compose", "--project-name", "talon-a", "--file", "/st/gateways/a/compose/compose.yaml",
                  "up", "--detach", "--remove-orphans"}));
  EXPECT_EQ(composeCommand({"docker-compose"}, "talon-a", "/f.yaml", composeDownArgs()),
            (Argv{"docker-compose", "--project-name", "talon-a", "--file", "/f.yaml", "down", "--remove-orphans"}));
  EXPECT_THAT(composeLogsArgs(50), ElementsAre("logs", "--no-color", "--tail", "50"));
  EXPECT_THAT(composePsArgs(true), ElementsAre("ps", "--all", "--format", "json"));
  EXPECT_THAT(composePsArgs(false), ElementsAre("ps", "--all", "-q"));
  EXPECT_THAT(dockerInspectStateCommand("abc123"),
              ElementsAre("docker", "inspect", "--format", "{{json .State}}", "abc123"));
  EXPECT_EQ(composeProjectDir("/st", "a"), std::filesystem::path("/st/gateways/a/compose"));
}

TEST(ComposeDeployerTest, ParsesPsAsAnArrayOrOneObjectPerLine) {
  // docker compose < 2.21 prints one JSON array; later versions one object per line.
  auto array = parseComposePs(
      R"([{"ID":"1f","Name":"talon-a-a-1","Service":"a","State":"running","Health":"healthy","ExitCode":0}])");
  ASSERT_TRUE(array) << array.error().message;
  ASSERT_EQ(array->size(), 1u);
  EXPECT_EQ((*array)[0].service, "a");
  EXPECT_EQ((*array)[0].state, "running");
  EXPECT_EQ((*array)[0].health, "healthy");
  auto lines = parseComposePs(
      "{\"Service\":\"a\",\"State\":\"exited\",\"Health\":\"\",\"ExitCode\":3}\n"
      "{\"Service\":\"b\",\"State\":\"running\",\"Health\":\"\",\"ExitCode\":0}\n");
  ASSERT_TRUE(lines);
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[0].exitCode, 3);
  EXPECT_EQ((*lines)[1].service, "b");
  auto empty = parseComposePs("\n");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto garbage = parseComposePs("NAME   STATE\nx      up\n");
  ASSERT_FALSE(garbage);
  EXPECT_THAT(garbage.error().message, HasSubstr("not a JSON object"));
}

TEST(ComposeDeployerTest, ParsesDockerInspectState) {
  auto s = parseDockerInspectState(
      R"({"Status":"exited","Running":false,"ExitCode":137,"Health":{"Status":"unhealthy","FailingStreak":3}})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->state, "exited");
  EXPECT_EQ(s->exitCode, 137);
  EXPECT_EQ(s->health, "unhealthy");
  EXPECT_FALSE(parseDockerInspectState("Error: No such object"));
}

TEST(ComposeDeployerTest, MapsContainersToProcessStates) {
  EXPECT_EQ(composeProcessState({}, 0), ProcessState::kStopped);
  ComposeContainerState running{"a", "running", "", 0};
  EXPECT_EQ(composeProcessState({running}, 200), ProcessState::kRunning);
  EXPECT_EQ(composeProcessState({running}, 503), ProcessState::kDegraded);
  EXPECT_EQ(composeProcessState({running}, 0), ProcessState::kDegraded);
  EXPECT_EQ(composeProcessState({{"a", "exited", "", 1}}, 0), ProcessState::kFailed);
  EXPECT_EQ(composeProcessState({{"a", "restarting", "", 1}}, 0), ProcessState::kFailed);
}

// ---- kubernetes ----

TEST(KubernetesDeployerTest, BuildsItsCommandLines) {
  ManifestSettings s;
  s.kubernetesNamespace = "acme";
  s.kubernetesName = "gw";
  EXPECT_EQ(kubectlCommand(s, kubectlApplyArgs("/st/gateways/gw/kubernetes/kubernetes.yaml")),
            (Argv{"kubectl", "--namespace", "acme", "apply", "-f", "/st/gateways/gw/kubernetes/kubernetes.yaml"}));
  s.kubernetesContext = "prod";
  EXPECT_EQ(kubectlCommand(s, kubectlRolloutStatusArgs("gw", std::chrono::milliseconds(120'000))),
            (Argv{"kubectl", "--context", "prod", "--namespace", "acme", "rollout", "status", "statefulset/gw",
                  "--timeout=120s"}));
  EXPECT_THAT(kubectlRolloutStatusArgs("gw", std::chrono::milliseconds(10)).back(), "--timeout=1s");
  EXPECT_THAT(kubectlGetStatefulSetArgs("gw"), ElementsAre("get", "statefulset", "gw", "-o", "json"));
  EXPECT_THAT(kubectlScaleArgs("gw", 0), ElementsAre("scale", "statefulset/gw", "--replicas=0"));
  EXPECT_THAT(kubectlLogsArgs("gw", 20), ElementsAre("logs", "pod/gw-0", "--tail=20"));
  EXPECT_THAT(kubectlClusterInfoArgs(std::chrono::milliseconds(5000)),
              ElementsAre("cluster-info", "--request-timeout=5s"));
  EXPECT_EQ(kubernetesManifestDir("/st", "gw"), std::filesystem::path("/st/gateways/gw/kubernetes"));
}

TEST(KubernetesDeployerTest, ReadsReplicasFromTheStatefulSet) {
  auto ready = parseStatefulSetReplicas(
      R"({"apiVersion":"apps/v1","kind":"StatefulSet","spec":{"replicas":1},"status":{"replicas":1,"readyReplicas":1}})");
  ASSERT_TRUE(ready) << ready.error().message;
  EXPECT_EQ(statefulSetProcessState(*ready), ProcessState::kRunning);
  // A StatefulSet that is not ready yet has no status.readyReplicas at all.
  auto starting = parseStatefulSetReplicas(R"({"kind":"StatefulSet","spec":{"replicas":1},"status":{"replicas":1}})");
  ASSERT_TRUE(starting);
  EXPECT_EQ(starting->readyReplicas, 0);
  EXPECT_EQ(statefulSetProcessState(*starting), ProcessState::kDegraded);
  auto scaledDown = parseStatefulSetReplicas(R"({"kind":"StatefulSet","spec":{"replicas":0},"status":{}})");
  ASSERT_TRUE(scaledDown);
  EXPECT_EQ(statefulSetProcessState(*scaledDown), ProcessState::kStopped);
  EXPECT_FALSE(parseStatefulSetReplicas(R"({"kind":"Deployment"})"));
  EXPECT_FALSE(parseStatefulSetReplicas("Error from server (NotFound)"));
}

// ---- check(), on this machine ----

DeployTarget containerTarget(const std::string& provider) {
  DeployTarget t;
  t.id = "gw";
  t.runtime = "openclaw";
  t.provider = provider;
  t.port = 18789;
  t.configText = R"({"gateway":{"bind":"lan","port":18789}})";
  t.manifestText = "services: {}\n";
  t.manifest.composeProject = "talon-gw";
  t.manifest.kubernetesNamespace = "default";
  t.manifest.kubernetesName = "gw";
  return t;
}

TEST(ContainerDeployTest, RefusesALoopbackGatewayAndAnUnrenderedManifest) {
  DeployTarget t = containerTarget("compose");
  EXPECT_TRUE(checkContainerTarget(t, "compose"));
  t.configText = R"({"gateway":{"bind":"loopback","port":18789}})";
  auto loopback = checkContainerTarget(t, "compose");
  ASSERT_FALSE(loopback);
  EXPECT_THAT(loopback.error().message, HasSubstr("bind \"loopback\""));
  EXPECT_THAT(loopback.error().message, HasSubstr("set bind \"lan\""));
  t = containerTarget("kubernetes");
  t.manifestError = "gateway gw: image: a Talon gateway deployed in a container needs `image`";
  auto unrendered = checkContainerTarget(t, "kubernetes");
  ASSERT_FALSE(unrendered);
  EXPECT_THAT(unrendered.error().message, HasSubstr("needs `image`"));
}

TEST(ContainerDeployTest, FindsExecutablesInPath) {
  TempDir dir;
  auto tool = dir.write("bin/tool", "#!/bin/sh\n");
  std::filesystem::permissions(tool, std::filesystem::perms::owner_all);
  dir.write("other/tool", "not executable");
  std::string path = (dir.path() / "other").string() + ":" + (dir.path() / "bin").string();
  EXPECT_EQ(findExecutableInPath("tool", path), tool);
  EXPECT_FALSE(findExecutableInPath("missing", path));
  EXPECT_EQ(commandLineText({"docker", "compose", "-f", "a b.yaml"}), "docker compose -f 'a b.yaml'");
}

TEST(ContainerDeployTest, ACommandThatFailsNamesItselfAndItsError) {
  auto r = runDeployCommand({"sh", "-c", "echo progress; echo 'no such project' >&2; exit 3"}, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(r.error().message,
              HasSubstr("`sh -c 'echo progress; echo 'no such project' >&2; exit 3'` exited with 3"));
  EXPECT_THAT(r.error().message, HasSubstr("no such project"));
  auto missing = runDeployCommand({"talon-no-such-tool-xyz"}, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

bool deployerToolAnswers(const Argv& argv) {
  auto r = runCommand(argv, {});
  return r && r->exitCode == 0;
}

TEST(ContainerDeployTest, ComposeCheckNamesTheMissingDockerDaemon) {
  if (!deployerToolAnswers({"sh", "-c", "command -v docker"}))
    GTEST_SKIP() << "no docker CLI here: the check names the missing CLI instead";
  if (deployerToolAnswers({"docker", "info"})) GTEST_SKIP() << "a docker daemon runs here";
  auto deployer = createComposeDeployer();
  DeployContext context;
  auto s = deployer->check(containerTarget("compose"), context);
  ASSERT_FALSE(s);
  if (s.error().code == ErrorCode::kNotFound) {
    EXPECT_THAT(s.error().message, HasSubstr("docker-compose"));  // neither the plugin nor v1
  } else {
    EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
    EXPECT_THAT(s.error().message, HasSubstr("the docker daemon is not reachable"));
  }
}

TEST(ContainerDeployTest, KubernetesCheckNamesTheMissingCluster) {
  if (!deployerToolAnswers({"sh", "-c", "command -v kubectl"})) GTEST_SKIP() << "kubectl is not installed";
  TempDir dir;
  // An empty kubeconfig: no cluster, whatever the machine's own kubeconfig says.
  auto kubeconfig = dir.write("kubeconfig", "");
  const char* old = std::getenv("KUBECONFIG");
  std::string saved = old != nullptr ? old : "";
  ::setenv("KUBECONFIG", kubeconfig.c_str(), 1);
  auto deployer = createKubernetesDeployer();
  DeployContext context;
  DeployTarget t = containerTarget("kubernetes");
  auto s = deployer->check(t, context);
  t.manifest.kubernetesContext = "prod";
  auto withContext = deployer->check(t, context);
  if (old != nullptr) {
    ::setenv("KUBECONFIG", saved.c_str(), 1);
  } else {
    ::unsetenv("KUBECONFIG");
  }
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(s.error().message, HasSubstr("no Kubernetes cluster is reachable with kubectl's current context"));
  ASSERT_FALSE(withContext);
  EXPECT_THAT(withContext.error().message, HasSubstr("with context \"prod\""));
}

// ---- the deployers' control flow, with the CLIs replaced ----
// No docker daemon and no cluster run here, so these tests put small stand-ins for `docker`,
// `docker-compose` and `kubectl` first on PATH. They record every command line and answer in the real
// tools' output formats (`docker inspect --format {{json .State}}`, `kubectl get -o json`); the compose
// stand-in's `up` starts a real HTTP server on the published loopback port answering /readyz, as the
// container would. They test what the deployers ask and how they read the answers — not docker or
// Kubernetes themselves.

class FakeCliPath {
 public:
  explicit FakeCliPath(const TempDir& dir) : bin_(dir.path() / "fake-bin"), log_(dir.path() / "commands.log") {
    std::filesystem::create_directories(bin_);
    const char* path = std::getenv("PATH");
    saved_ = path != nullptr ? path : "";
    ::setenv("PATH", (bin_.string() + ":" + saved_).c_str(), 1);
    ::setenv("FAKE_CLI_LOG", log_.c_str(), 1);
    ::setenv("FAKE_CLI_STATE", dir.path().c_str(), 1);
  }
  ~FakeCliPath() {
    ::setenv("PATH", saved_.c_str(), 1);
    ::unsetenv("FAKE_CLI_LOG");
    ::unsetenv("FAKE_CLI_STATE");
  }
  void add(const std::string& name, const std::string& script) {
    auto file = bin_ / name;
    std::ofstream(file) << "#!/bin/sh\necho \"" << name << " $*\" >> \"$FAKE_CLI_LOG\"\n" << script;
    std::filesystem::permissions(file, std::filesystem::perms::owner_all);
  }
  std::string log() const {
    auto text = readFile(log_);
    return text ? *text : "";
  }

 private:
  std::filesystem::path bin_;
  std::filesystem::path log_;
  std::string saved_;
};

int fakeCliFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(KubernetesDeployerFlowTest, AppliesWaitsScalesAndReadsTheStatefulSet) {
  TempDir dir;
  FakeCliPath fake(dir);
  fake.add("kubectl", R"SH(while [ "$1" = "--context" ] || [ "$1" = "--namespace" ]; do shift 2; done
sts="$FAKE_CLI_STATE/sts.json"
case "$1" in
  cluster-info) echo "Kubernetes control plane is running at https://127.0.0.1:6443" ;;
  get) if [ -f "$sts" ]; then cat "$sts"; else echo 'Error from server (NotFound): statefulsets.apps "gw" not found' >&2; exit 1; fi ;;
  apply) cp "$3" "$FAKE_CLI_STATE/applied.yaml"
         echo '{"apiVersion":"apps/v1","kind":"StatefulSet","spec":{"replicas":1},"status":{"replicas":1,"readyReplicas":1}}' > "$sts"
         echo "statefulset.apps/gw created" ;;
  rollout) echo "partitioned roll out complete: 1 new pods have been updated..." ;;
  scale) r="${3#--replicas=}"
         echo "{\"kind\":\"StatefulSet\",\"spec\":{\"replicas\":$r},\"status\":{\"replicas\":$r}}" > "$sts"
         echo "statefulset.apps/gw scaled" ;;
  logs) echo "gateway listening on 18789" ;;
esac
)SH");
  DeployTarget t = containerTarget("kubernetes");
  t.manifest.kubernetesNamespace = "acme";
  t.manifestText = "kind: StatefulSet\n";
  DeployContext context;
  context.fleetStateDir = dir.path() / "state";
  auto deployer = createKubernetesDeployer();
  EXPECT_EQ(deployer->status(t, context).state, ProcessState::kStopped);  // nothing applied yet

  auto applied = deployer->apply(t, context, true);
  ASSERT_TRUE(applied) << applied.error().message << "\n" << fake.log();
  EXPECT_EQ(*applied, ApplyAction::kStarted);
  std::string manifestFile = (kubernetesManifestDir(context.fleetStateDir, "gw") / "kubernetes.yaml").string();
  EXPECT_EQ(*readFile(dir.path() / "applied.yaml"), t.manifestText);
  EXPECT_THAT(fake.log(), HasSubstr("kubectl --namespace acme apply -f " + manifestFile + "\n"));
  EXPECT_THAT(fake.log(), HasSubstr("kubectl --namespace acme rollout status statefulset/gw --timeout=120s\n"));
  EXPECT_EQ(deployer->status(t, context).state, ProcessState::kRunning);
  auto again = deployer->apply(t, context, false);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, ApplyAction::kUnchanged);

  ASSERT_TRUE(deployer->stop(t, context));
  EXPECT_THAT(fake.log(), HasSubstr("kubectl --namespace acme scale statefulset/gw --replicas=0\n"));
  EXPECT_EQ(deployer->status(t, context).state, ProcessState::kStopped);
  ASSERT_TRUE(deployer->start(t, context));
  EXPECT_THAT(fake.log(), HasSubstr("scale statefulset/gw --replicas=1\n"));
  auto st = deployer->status(t, context);
  EXPECT_EQ(st.state, ProcessState::kDegraded);  // scaled up, no ready replica yet
  EXPECT_THAT(st.detail, HasSubstr("0 of 1 replicas ready"));
  auto logs = deployer->logs(t, context, 5);
  ASSERT_TRUE(logs);
  EXPECT_EQ(*logs, "gateway listening on 18789\n");
  EXPECT_THAT(fake.log(), HasSubstr("kubectl --namespace acme logs pod/gw-0 --tail=5\n"));
}

TEST(ComposeDeployerFlowTest, UpWaitsForReadyzThenReadsPsDownAndLogs) {
  TempDir dir;
  FakeCliPath fake(dir);
  int port = fakeCliFreePort();
  // docker: a daemon answers `info`; no compose plugin (so docker-compose, v1, is used); `inspect` reads
  // the state file the compose stand-in keeps.
  fake.add("docker", R"SH(case "$1" in
  info) echo "24.0.7" ;;
  compose) echo "docker: 'compose' is not a docker command." >&2; exit 1 ;;
  inspect) cat "$FAKE_CLI_STATE/container.json" ;;
esac
)SH");
  fake.add("docker-compose", R"SH(while [ "$1" = "--project-name" ] || [ "$1" = "--file" ]; do shift 2; done
state="$FAKE_CLI_STATE/container.json"
case "$1" in
  up) python3 -c 'import http.server as h, sys
class R(h.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ready")
    def log_message(self, *a): pass
h.HTTPServer(("127.0.0.1", int(sys.argv[1])), R).serve_forever()' "$FAKE_PORT" >/dev/null 2>&1 &
      echo $! > "$FAKE_CLI_STATE/server.pid"
      echo '{"Status":"running","Running":true,"ExitCode":0,"Health":{"Status":"healthy"}}' > "$state"
      echo "Creating talon-gw_gw_1 ... done" >&2 ;;
  ps) [ -f "$state" ] && echo "3f1c0ffee" ;;
  down) kill "$(cat "$FAKE_CLI_STATE/server.pid")"; rm -f "$state"; echo "Removing talon-gw_gw_1 ... done" >&2 ;;
  logs) echo "gw_1  | gateway listening" ;;
esac
exit 0
)SH");
  ::setenv("FAKE_PORT", std::to_string(port).c_str(), 1);
  DeployTarget t = containerTarget("compose");
  t.port = port;
  t.manifest.composePublishAddress = "127.0.0.1";
  DeployContext context;
  context.fleetStateDir = dir.path() / "state";
  context.readyTimeout = std::chrono::milliseconds(20'000);
  auto deployer = createComposeDeployer();
  ASSERT_TRUE(deployer->check(t, context)) << fake.log();
  EXPECT_EQ(deployer->status(t, context).state, ProcessState::kStopped);

  auto applied = deployer->apply(t, context, true);
  ASSERT_TRUE(applied) << applied.error().message << "\n" << fake.log();
  EXPECT_EQ(*applied, ApplyAction::kStarted);
  std::filesystem::path project = composeProjectDir(context.fleetStateDir, "gw");
  EXPECT_EQ(*readFile(project / "compose.yaml"), t.manifestText);
  EXPECT_EQ(*readFile(project / "openclaw.json"), t.configText);
  std::string file = (project / "compose.yaml").string();
  EXPECT_THAT(fake.log(),
              HasSubstr("docker-compose --project-name talon-gw --file " + file + " up --detach --remove-orphans\n"));
  auto st = deployer->status(t, context);
  EXPECT_EQ(st.state, ProcessState::kRunning);
  EXPECT_EQ(st.readyz.status, 200);
  EXPECT_THAT(fake.log(), HasSubstr("docker inspect --format {{json .State}} 3f1c0ffee\n"));
  auto logs = deployer->logs(t, context, 7);
  ASSERT_TRUE(logs);
  EXPECT_THAT(*logs, HasSubstr("gateway listening"));
  EXPECT_THAT(fake.log(), HasSubstr(" logs --no-color --tail 7\n"));

  ASSERT_TRUE(deployer->stop(t, context));
  EXPECT_THAT(fake.log(), HasSubstr(" down --remove-orphans\n"));
  EXPECT_EQ(deployer->status(t, context).state, ProcessState::kStopped);
  ::unsetenv("FAKE_PORT");
}

TEST(ComposeDeployerFlowTest, AContainerThatExitsFailsTheApplyWithItsLogs) {
  TempDir dir;
  FakeCliPath fake(dir);
  fake.add("docker", R"SH(case "$1" in
  info) echo "24.0.7" ;;
  compose) exit 1 ;;
  inspect) echo '{"Status":"exited","Running":false,"ExitCode":1}' ;;
esac
)SH");
  fake.add("docker-compose", R"SH(while [ "$1" = "--project-name" ] || [ "$1" = "--file" ]; do shift 2; done
case "$1" in
  up) touch "$FAKE_CLI_STATE/up" ;;
  ps) [ -f "$FAKE_CLI_STATE/up" ] && echo "dead0001" ;;
  logs) echo "gw_1  | error: config invalid: gateway.port" ;;
esac
exit 0
)SH");
  DeployTarget t = containerTarget("compose");
  t.port = fakeCliFreePort();
  t.manifest.composePublishAddress = "127.0.0.1";
  DeployContext context;
  context.fleetStateDir = dir.path() / "state";
  auto deployer = createComposeDeployer();
  auto applied = deployer->apply(t, context, true);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(applied.error().message, HasSubstr("its container exited (exit code 1)"));
  EXPECT_THAT(applied.error().message, HasSubstr("config invalid: gateway.port"));
  auto st = deployer->status(t, context);
  EXPECT_EQ(st.state, ProcessState::kFailed);
  EXPECT_THAT(st.detail, HasSubstr("container exited (exit code 1)"));
}

TEST(ContainerDeployTest, BothProvidersAreRegistered) {
  EXPECT_TRUE(createDeployer("compose"));
  EXPECT_TRUE(createDeployer("kubernetes"));
}

}  // namespace
}  // namespace talon::fleet
