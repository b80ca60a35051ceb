#include "export/python_runner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/errors.h"

extern char** environ;

#ifndef NASFORGE_PYTHONPATH_DEFAULT
#define NASFORGE_PYTHONPATH_DEFAULT ""
#endif

namespace nasforge::exporter {

PythonConfig default_python() {
  PythonConfig python;
  if (const char* interpreter = std::getenv("NASFORGE_PYTHON"); interpreter && *interpreter) {
    python.interpreter = interpreter;
  }
  const char* path = std::getenv("NASFORGE_PYTHONPATH");
  python.pythonpath = path ? path : NASFORGE_PYTHONPATH_DEFAULT;
  return python;
}

PythonResult run_python(const PythonConfig& python, const std::vector<std::string>& args) {
  // The child's environment and argv are made before fork: between fork and exec only
  // async-signal-safe calls are allowed.
  std::vector<std::string> env_strings;
  std::string old_pythonpath;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "PYTHONPATH=", 11) == 0) {
      old_pythonpath = *e + 11;
    } else {
      env_strings.emplace_back(*e);
    }
  }
  std::string pythonpath = python.pythonpath;
  if (!old_pythonpath.empty()) {
    pythonpath += (pythonpath.empty() ? "" : ":") + old_pythonpath;
  }
  if (!pythonpath.empty()) env_strings.push_back("PYTHONPATH=" + pythonpath);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::vector<std::string> arg_strings{python.interpreter, "-B"};
  arg_strings.insert(arg_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int fds[2];
  if (pipe(fds) != 0) {
    throw InternalError(std::string("run_python: pipe failed: ") + std::strerror(errno));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    throw InternalError(std::string("run_python: fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    execvpe(argv[0], argv.data(), envp.data());
    constexpr char kMessage[] = "cannot start the Python interpreter\n";
    [[maybe_unused]] auto ignored = write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
    _exit(127);
  }
  close(fds[1]);
  PythonResult result;
  std::array<char, 4096> buffer;
  for (;;) {
    const ssize_t n = read(fds[0], buffer.data(), buffer.size());
    if (n > 0) {
      result.output.append(buffer.data(), static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (result.exit_code == 127 &&
      last_line(result.output) == "cannot start the Python interpreter") {
    result.output = python.interpreter + ": not found or not executable\n";
  }
  return result;
}

std::string last_line(const std::string& output) {
  size_t end = output.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return "";
  const size_t begin = output.rfind('\n', end);
  return output.substr(begin == std::string::npos ? 0 : begin + 1,
                       end + 1 - (begin == std::string::npos ? 0 : begin + 1));
}

}  // namespace nasforge::exporter
