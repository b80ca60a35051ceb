#pragma once
// Reading the report's HTML in tests: the element with an id, counts of a marker inside it, and
// the values of one attribute in order. Enough for the markup the report writes (no comments,
// attributes in double quotes).
#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace nasforge::testing {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The element whose id is `id`, from its opening tag to its matching closing tag ("" if absent).
inline std::string element(const std::string& html, const std::string& id) {
  const auto at = html.find(" id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  const auto open = html.rfind('<', at);
  const auto name_end = html.find_first_of(" >", open);
  const auto tag = html.substr(open + 1, name_end - open - 1);
  int depth = 0;
  for (auto pos = open; pos < html.size();) {
    const auto next_open = html.find("<" + tag, pos);
    const auto next_close = html.find("</" + tag + ">", pos);
    if (next_close == std::string::npos) return "";
    if (next_open != std::string::npos && next_open < next_close) {
      const char after = html[next_open + 1 + tag.size()];
      if (after == ' ' || after == '>') ++depth;
      pos = next_open + 1;
    } else {
      if (--depth == 0) return html.substr(open, next_close + tag.size() + 3 - open);
      pos = next_close + 1;
    }
  }
  return "";
}

// The values of attribute `name` in `text`, in order.
inline std::vector<std::string> attributes(const std::string& text, const std::string& name) {
  std::vector<std::string> out;
  const std::string key = " " + name + "=\"";
  for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
    const auto start = at + key.size();
    out.push_back(text.substr(start, text.find('"', start) - start));
  }
  return out;
}

// Each <g class="curve ..." data-trial="N"> ... </g> of the learning-curve plot, by trial ordinal.
struct CurveGroup {
  long ordinal = -1;
  std::string cls;
  std::size_t points = 0;
};

inline std::vector<CurveGroup> curve_groups(const std::string& plot) {
  std::vector<CurveGroup> out;
  const std::string key = "<g class=\"curve ";
  for (auto at = plot.find(key); at != std::string::npos; at = plot.find(key, at + 1)) {
    const auto end = plot.find("</g>", at);
    const auto group = plot.substr(at, end - at);
    CurveGroup g;
    g.cls = group.substr(key.size(), group.find('"', key.size()) - key.size());
    g.ordinal = std::stol(attributes(group, "data-trial").front());
    g.points = count(group, "<circle class=\"point");
    out.push_back(g);
  }
  return out;
}

}  // namespace nasforge::testing
