// The seeded random drivers' mutations (used where libFuzzer is not built): a valid input,
// changed 1-3 times by bit flips, cuts, inserted garbage, erasures and self-splices, handed to
// the target ROUNDS times. A fixed seed, so a failure reproduces.
#pragma once

#include <cstdint>
#include <random>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace openoserv::fuzz {

inline void run_mutations(const std::string& seed, long rounds, std::uint64_t rng_seed) {
  std::mt19937_64 rng(rng_seed);
  for (long round = 0; round < rounds; ++round) {
    std::string input = seed;
    for (int m = 0, n = 1 + rng() % 3; m < n && !input.empty(); ++m) {
      switch (rng() % 5) {
        case 0: input[rng() % input.size()] ^= static_cast<char>(1 << (rng() % 8)); break;
        case 1: input.resize(rng() % input.size()); break;
        case 2:
          input.insert(rng() % input.size(), std::string(1 + rng() % 16, static_cast<char>(rng())));
          break;
        case 3: input.erase(rng() % input.size(), 1 + rng() % 16); break;
        case 4: {  // splice a copy of one region over another
          size_t from = rng() % input.size(), to = rng() % input.size(), len = 1 + rng() % 24;
          input.replace(to, len, input.substr(from, len));
          break;
        }
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  }
}

}  // namespace openoserv::fuzz
