// SPDX-License-Identifier: MIT
//
// Sample plugin "wordfreq", in C++: method "top" counts the words of its
// inputs (runs of ASCII letters, folded to lower case) and prints the ten
// most frequent as "COUNT WORD" lines, most frequent first, ties in
// alphabetical order. It shows that PH_PLUGIN() works from C++ and that a
// plugin may use the standard library: libstdc++ is loaded with the plugin,
// before the sandbox's second stage, and allocation needs no new syscalls.
#include <algorithm>
#include <cctype>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <plughost/plugin.h>

namespace {

constexpr size_t top_n = 10;

int top(struct ph_call *call, const struct ph_input *inputs, size_t n_inputs)
{
	std::unordered_map<std::string, unsigned long> counts;
	std::string word;

	auto end_word = [&]() {
		if (!word.empty())
			counts[word]++;
		word.clear();
	};
	for (size_t i = 0; i < n_inputs; i++) {
		const auto *p = static_cast<const unsigned char *>(inputs[i].data);

		for (size_t j = 0; j < inputs[i].len; j++) {
			if (std::isalpha(p[j]) && p[j] < 0x80)
				word += static_cast<char>(std::tolower(p[j]));
			else
				end_word();
		}
		end_word(); // inputs are separate texts
	}

	std::vector<std::pair<std::string, unsigned long>> order(counts.begin(), counts.end());
	std::sort(order.begin(), order.end(), [](const auto &a, const auto &b) {
		return a.second != b.second ? a.second > b.second : a.first < b.first;
	});
	if (order.size() > top_n)
		order.resize(top_n);
	for (const auto &[w, n] : order) {
		int r = ph_printf(call, "%lu %s\n", n, w.c_str());
		if (r < 0)
			return ph_error(call, 1, "output failed: %d", r);
	}
	return 0;
}

const struct ph_method methods[] = {
    {"top", top},
};

} // namespace

PH_PLUGIN("wordfreq", "1.0", methods);
