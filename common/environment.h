#pragma once
// Integer settings read from environment variables (the torchrun-style rank variables, nasforge's
// own NASFORGE_* knobs).
namespace nasforge {

// The variable `name` as an integer in [low, high]; `fallback` when it is unset or empty. Throws
// ConfigError naming the variable and its range for anything else.
int env_int(const char* name, int fallback, int low, int high);

}  // namespace nasforge
