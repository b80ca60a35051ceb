// nasforge: the program. app/cli parses the command line and runs the command; here every error
// becomes one line on stderr and an exit code (2 for bad input, 1 for anything else).
#include <c10/util/Exception.h>

#include <iostream>
#include <string>

#include "app/cli.h"
#include "common/errors.h"
#include "trainer/distributed/process_group.h"

int main(int argc, char** argv) {
  try {
    return nasforge::app::run_command_line(argc, argv, std::cout);
  } catch (const nasforge::trainer::distributed::CollectiveError& e) {
    // A peer died or timed out: not bad input, and the store stays consistent for `resume`.
    std::cerr << "nasforge: distributed error: " << e.what() << "\n";
    return 1;
  } catch (const nasforge::InternalError& e) {
    std::cerr << "nasforge: internal error: " << e.what() << "\n";
    return 1;
  } catch (const nasforge::Error& e) {
    std::cerr << "nasforge: error: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error& e) {
    std::string message = e.what_without_backtrace();
    std::cerr << "nasforge: LibTorch error: " << message.substr(0, message.find('\n')) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "nasforge: error: " << e.what() << "\n";
    return 1;
  }
}
