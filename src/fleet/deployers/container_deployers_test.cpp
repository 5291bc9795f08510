// The compose and kubernetes deployers without a docker daemon or a cluster (none runs here): the command
// lines they build, the parsing of what docker compose and kubectl print, the state mapping, and check()
// against this machine's real (daemon-less, cluster-less) docker and kubectl, which must name what is missing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

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

TEST(ContainerDeployTest, BothProvidersAreRegistered) {
  EXPECT_TRUE(createDeployer("compose"));
  EXPECT_TRUE(createDeployer("kubernetes"));
}

}  // namespace
}  // namespace talon::fleet
