#include "trainer/distributed/launcher.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include "common/errors.h"

extern char** environ;

namespace nasforge::trainer::distributed {
namespace {

using Clock = std::chrono::steady_clock;

pid_t spawn(const std::string& program, const std::vector<std::string>& args,
            const std::vector<std::string>& extra_env) {
  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    bool replaced = false;
    for (const auto& x : extra_env) {
      replaced = replaced || entry.compare(0, x.find('=') + 1, x, 0, x.find('=') + 1) == 0;
    }
    if (!replaced) env_strings.push_back(entry);
  }
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string argv0 = program;
  argv.push_back(argv0.data());
  std::vector<std::string> arg_copies = args;
  for (auto& a : arg_copies) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw Error(std::string("launch: fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    execve(program.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

void record(RankExit& exit, int status) {
  if (WIFEXITED(status)) exit.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
}

}  // namespace

std::string RankExit::describe() const {
  std::string s = "rank " + std::to_string(rank) + " (pid " + std::to_string(pid) + ")";
  if (signal != 0) {
    s += " was killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  } else {
    s += " exited with code " + std::to_string(exit_code);
    if (exit_code == 127) s += " (could not be started)";
  }
  if (killed_by_launcher) s += " after the launcher stopped it";
  return s;
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("launch: socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    throw Error("launch: cannot find a free port: " + why);
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::vector<RankExit> launch_local(const LaunchSpec& spec) {
  if (spec.nproc < 1) throw ConfigError("launch: --nproc must be at least 1");
  if (access(spec.program.c_str(), X_OK) != 0) {
    throw ConfigError("launch: cannot execute " + spec.program);
  }
  const int port = spec.port > 0 ? spec.port : free_port();
  std::vector<RankExit> exits(static_cast<std::size_t>(spec.nproc));
  for (int r = 0; r < spec.nproc; ++r) {
    const auto& args =
        r < static_cast<int>(spec.per_rank_args.size()) ? spec.per_rank_args[r] : spec.args;
    exits[r].rank = r;
    std::vector<std::string> env{
        "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port), "RANK=" + std::to_string(r),
        "WORLD_SIZE=" + std::to_string(spec.nproc), "LOCAL_RANK=" + std::to_string(r)};
    env.insert(env.end(), spec.env.begin(), spec.env.end());
    exits[r].pid = spawn(spec.program, args, env);
  }
  int running = spec.nproc;
  std::optional<Clock::time_point> deadline;  // set when a rank fails
  bool killed = false;
  int finished = 0;
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, deadline ? WNOHANG : 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;
    if (pid == 0) {
      if (!killed && Clock::now() >= *deadline) {
        for (auto& e : exits) {
          if (e.pid > 0) {
            kill(e.pid, SIGKILL);
            e.killed_by_launcher = true;
          }
        }
        killed = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    for (auto& e : exits) {
      if (e.pid != pid) continue;
      record(e, status);
      e.finish_order = ++finished;
      const bool ends_job = spec.survive_rank_failures ? e.rank == 0 : !e.ok();
      if (ends_job && !deadline) deadline = Clock::now() + spec.grace;
      e.pid = -e.pid;  // done; keeps the id for describe()
      --running;
    }
  }
  for (auto& e : exits) e.pid = e.pid < 0 ? -e.pid : e.pid;
  return exits;
}

void check_ranks(const std::vector<RankExit>& exits) {
  const RankExit* cause = nullptr;
  for (const auto& e : exits) {
    if (!e.ok() && (cause == nullptr || e.finish_order < cause->finish_order)) cause = &e;
  }
  if (cause == nullptr) return;
  std::string others;
  for (const auto& e : exits) {
    if (&e != cause && !e.ok()) others += "; " + e.describe();
  }
  throw Error("launch: " + cause->describe() + others);
}

}  // namespace nasforge::trainer::distributed
