// What `tramp bench` prints and writes besides its tables: the progress line, the machine
// description, CSV/JSON quoting, and the SVG charts (hand-written SVG text, no dependencies).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tramp::tools {

// A progress line on stderr ("[3/40] double(4 x double) libffi"): rewritten in place with \r
// when stderr is a terminal, one line per step otherwise.
class Progress {
 public:
  explicit Progress(std::size_t total);
  ~Progress();  // clears the line on a terminal
  void step(const std::string& what);

 private:
  std::size_t total_;
  std::size_t done_ = 0;
  std::size_t last_width_ = 0;
  bool tty_;
};

// What the numbers were measured on, as far as it is cheap to know.
struct MachineInfo {
  std::string cpu;       // /proc/cpuinfo's model name, or the architecture
  unsigned cpus = 0;     // hardware threads
  std::string arch;      // uname -m
  std::string os;        // uname -s -r
  std::string compiler;  // the compiler that built the tool
  std::string libffi;    // libffi's version (pkg-config, at build time)
  std::string date;      // today, YYYY-MM-DD
  std::string line() const;  // all of it, for titles and headers
};
MachineInfo machine_info();

std::string csv_field(std::string_view s);  // in double quotes, inner quotes doubled
std::string json_string(std::string_view s);  // in double quotes, escaped
std::string xml_escape(std::string_view s);
std::string number(double v, int significant = 6);  // JSON/CSV number: %.*g, never nan or inf

// A horizontal grouped bar chart: one group per row (signature), one bar per series
// (engine), the value (and, if `ratio_to` names a series, the ratio to it) at the bar's end.
struct BarGroup {
  std::string label;     // e.g. "int(int,int)"
  std::string sublabel;  // smaller, under it (the signature); may be empty
  std::vector<double> values;  // one per series; <= 0: no bar
};
struct BarSection {
  std::string title;
  std::string axis_label;
  std::vector<std::string> series;  // legend order = bar order in each group
  std::vector<std::string> colours;  // one per series
  std::string ratio_to;             // a series name, or "" for no ratios
  std::vector<BarGroup> groups;
};
std::string bar_chart_svg(const std::string& title, const std::string& subtitle,
                          const std::vector<BarSection>& sections);

// A line chart in stacked panels sharing the x axis.
struct Series {
  std::string name;
  std::string colour;
  std::vector<std::pair<double, double>> points;  // (x, y)
};
struct LinePanel {
  std::string title;
  std::string y_label;
  std::vector<Series> series;
  std::string note;  // a line of text under the panel's title, may be empty
};
std::string line_chart_svg(const std::string& title, const std::string& subtitle, const std::string& x_label,
                           const std::vector<LinePanel>& panels);

void write_text_file(const std::string& path, const std::string& text);  // throws tramp::Error

}  // namespace tramp::tools
