// Alternating rounds, as every benchmark here measures: baseline and framework take turns in
// short rounds, so drift of the machine hits both alike, and the medians are reported.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/core.h>

namespace openoserv::bench {

// Runs `a` and `b`, the round number choosing which goes first, so neither always does.
template <typename A, typename B>
void take_turns(int round, A&& a, B&& b) {
  if (round % 2) {
    b();
    a();
  } else {
    a();
    b();
  }
}

// The median of `v` by `less`.
template <typename T, typename Less = std::less<T>>
T median(std::vector<T> v, Less less = Less()) {
  std::sort(v.begin(), v.end(), less);
  return v[v.size() / 2];
}

// The ratio column of a benchmark's table, "   1.13x  (rounds 1.02x..1.30x)": the median of the
// rounds' ratios, and their range.
inline std::string ratio_summary(const std::vector<double>& ratios) {
  const auto [low, high] = std::minmax_element(ratios.begin(), ratios.end());
  return fmt::format("{:>8.2f}x  (rounds {:.2f}x..{:.2f}x)", median(ratios), *low, *high);
}

}  // namespace openoserv::bench
