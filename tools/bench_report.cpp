// The progress line, the machine description, quoting, and the SVG charts of `tramp bench`.
#include "tools/bench_report.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "tramp/error.hpp"

#ifndef TRAMP_FFI_VERSION
#define TRAMP_FFI_VERSION ""
#endif

namespace tramp::tools {

// ---- progress ----

Progress::Progress(std::size_t total) : total_(total), tty_(isatty(STDERR_FILENO) != 0) {}

Progress::~Progress() {
  if (tty_ && last_width_) std::fprintf(stderr, "\r%*s\r", static_cast<int>(last_width_), "");
  std::fflush(stderr);
}

void Progress::step(const std::string& what) {
  ++done_;
  std::string line = "[" + std::to_string(done_) + "/" + std::to_string(total_) + "] " + what;
  if (tty_) {
    const std::size_t width = line.size();
    if (line.size() < last_width_) line.append(last_width_ - line.size(), ' ');
    std::fprintf(stderr, "\r%s", line.c_str());
    last_width_ = std::max(width, last_width_);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

// ---- the machine ----

MachineInfo machine_info() {
  MachineInfo m;
  utsname u{};
  if (uname(&u) == 0) {
    m.arch = u.machine;
    m.os = std::string(u.sysname) + " " + u.release;
  }
  // The model name, and on x86 the family and model numbers, which say which core it is
  // when the name does not (a hypervisor's "AMD EPYC").
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string family, model;
  for (std::string line; std::getline(cpuinfo, line) && line.find_first_not_of(" \t") != std::string::npos;) {
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (line.rfind("model name", 0) == 0) m.cpu = value;
    else if (line.rfind("cpu family", 0) == 0) family = value;
    else if (line.rfind("model\t", 0) == 0 || line.rfind("model ", 0) == 0) model = value;
  }
  if (m.cpu.empty()) m.cpu = m.arch;
  if (!family.empty() && !model.empty()) m.cpu += " (family " + family + ", model " + model + ")";
  m.cpus = std::thread::hardware_concurrency();
#if defined(__clang__)
  m.compiler = "clang " + std::to_string(__clang_major__) + "." + std::to_string(__clang_minor__) + "." +
               std::to_string(__clang_patchlevel__);
#elif defined(__GNUC__)
  m.compiler = "gcc " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
               std::to_string(__GNUC_PATCHLEVEL__);
#else
  m.compiler = "unknown compiler";
#endif
  m.libffi = TRAMP_FFI_VERSION;
  const std::time_t now = std::time(nullptr);
  char date[16] = "";
  std::tm tm{};
  if (localtime_r(&now, &tm)) std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
  m.date = date;
  return m;
}

std::string MachineInfo::line() const {
  std::string s = cpu;
  if (cpus) s += " (" + std::to_string(cpus) + " CPUs)";
  if (!arch.empty() && cpu != arch) s += ", " + arch;
  if (!os.empty()) s += ", " + os;
  s += ", " + compiler;
  if (!libffi.empty()) s += ", libffi " + libffi;
  if (!date.empty()) s += ", " + date;
  return s;
}

// ---- quoting ----

std::string csv_field(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string number(double v, int significant) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", significant, v);
  return buf;
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw tramp::Error(tramp::ErrorCode::Library, "cannot write " + path);
}

// ---- SVG ----

namespace {

// A step of 1, 2, 2.5 or 5 times a power of ten that splits [0, max] into about `ticks` parts.
double nice_step(double max, int ticks) {
  if (!(max > 0)) return 1;
  const double raw = max / ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double f = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
  return f * mag;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A value as the charts print it: 2.84, 37.2, 1874.
std::string value_text(double v) {
  return fmt(v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
}

// A tick label: as few decimals as the step needs; thousands as 20k.
std::string tick_text(double v, double step) {
  if (step >= 1000 && std::fmod(v, 1000) == 0 && v != 0) return fmt("%.0fk", v / 1000);
  if (step >= 1) return fmt("%.0f", v);
  if (step >= 0.1) return fmt("%.1f", v);
  return fmt("%.2f", v);
}

// Rough text width in pixels of a sans-serif font (for layout only).
double text_width(std::string_view s, double font_size) { return 0.58 * font_size * static_cast<double>(s.size()); }

class Svg {
 public:
  Svg& raw(const std::string& s) {
    body_ += s;
    return *this;
  }
  void text(double x, double y, const std::string& s, double size, const char* anchor = "start",
            const char* fill = "#222", const char* weight = nullptr) {
    body_ += "<text x=\"" + fmt("%.1f", x) + "\" y=\"" + fmt("%.1f", y) + "\" font-size=\"" + fmt("%g", size) +
             "\" text-anchor=\"" + anchor + "\" fill=\"" + fill + "\"";
    if (weight) body_ += std::string(" font-weight=\"") + weight + "\"";
    body_ += ">" + xml_escape(s) + "</text>\n";
  }
  void rect(double x, double y, double w, double h, const std::string& fill, const std::string& tooltip = "") {
    body_ += "<rect x=\"" + fmt("%.1f", x) + "\" y=\"" + fmt("%.1f", y) + "\" width=\"" + fmt("%.1f", w) +
             "\" height=\"" + fmt("%.1f", h) + "\" fill=\"" + fill + "\"";
    if (tooltip.empty())
      body_ += "/>\n";
    else
      body_ += "><title>" + xml_escape(tooltip) + "</title></rect>\n";
  }
  void line(double x1, double y1, double x2, double y2, const char* stroke, double width = 1) {
    body_ += "<line x1=\"" + fmt("%.1f", x1) + "\" y1=\"" + fmt("%.1f", y1) + "\" x2=\"" + fmt("%.1f", x2) +
             "\" y2=\"" + fmt("%.1f", y2) + "\" stroke=\"" + stroke + "\" stroke-width=\"" + fmt("%g", width) +
             "\"/>\n";
  }
  std::string finish(double width, double height) const {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
           fmt("%.0f", width) + "\" height=\"" + fmt("%.0f", height) + "\" viewBox=\"0 0 " + fmt("%.0f", width) +
           " " + fmt("%.0f", height) +
           "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
           "<rect x=\"0\" y=\"0\" width=\"" +
           fmt("%.0f", width) + "\" height=\"" + fmt("%.0f", height) + "\" fill=\"#ffffff\"/>\n" + body_ +
           "</svg>\n";
  }

 private:
  std::string body_;
};

}  // namespace

std::string bar_chart_svg(const std::string& title, const std::string& subtitle,
                          const std::vector<BarSection>& sections) {
  constexpr double kWidth = 980, kBar = 11, kBarGap = 3, kGroupPad = 7, kValueRoom = 120;
  double label_w = 120;
  for (const BarSection& s : sections)
    for (const BarGroup& g : s.groups)
      label_w = std::max({label_w, text_width(g.label, 12), text_width(g.sublabel, 10)});
  label_w = std::min(label_w, 330.0);
  const double x0 = label_w + 24;
  const double plot_w = kWidth - x0 - kValueRoom;

  Svg svg;
  svg.text(16, 28, title, 17, "start", "#111", "bold");
  svg.text(16, 48, subtitle, 11.5, "start", "#555");
  double y = 66;
  for (const BarSection& s : sections) {
    svg.text(16, y + 18, s.title, 14, "start", "#111", "bold");
    // The legend, in bar order.
    double lx = x0;
    for (std::size_t k = 0; k < s.series.size(); ++k) {
      svg.rect(lx, y + 30, 12, 12, s.colours[k]);
      svg.text(lx + 17, y + 40, s.series[k], 12);
      lx += 17 + text_width(s.series[k], 12) + 22;
    }
    double vmax = 0;
    for (const BarGroup& g : s.groups)
      for (double v : g.values) vmax = std::max(vmax, v);
    const double step = nice_step(vmax, 8);
    const double axis_max = std::max(step, std::ceil(vmax / step - 1e-9) * step);
    const double top = y + 54;
    const std::size_t nb = s.series.size();
    const double gh = static_cast<double>(nb) * (kBar + kBarGap) - kBarGap + 2 * kGroupPad;
    const double bottom = top + gh * static_cast<double>(s.groups.size());
    // Bands behind every other group, then the grid, then the bars.
    for (std::size_t gi = 0; gi < s.groups.size(); ++gi)
      if (gi % 2 == 0) svg.rect(16, top + gh * static_cast<double>(gi), kWidth - 32, gh, "#f3f4f6");
    for (double t = 0; t <= axis_max + step / 2; t += step) {
      const double x = x0 + t / axis_max * plot_w;
      svg.line(x, top, x, bottom, t == 0 ? "#888" : "#d8d8d8");
      svg.text(x, bottom + 15, tick_text(t, step), 11, "middle", "#444");
    }
    svg.line(x0, bottom, x0 + plot_w, bottom, "#888");
    svg.text(x0 + plot_w / 2, bottom + 33, s.axis_label, 12, "middle", "#222");
    std::size_t ratio_index = nb;
    for (std::size_t k = 0; k < nb; ++k)
      if (s.series[k] == s.ratio_to) ratio_index = k;
    for (std::size_t gi = 0; gi < s.groups.size(); ++gi) {
      const BarGroup& g = s.groups[gi];
      const double gy = top + gh * static_cast<double>(gi);
      const double mid = gy + gh / 2;
      if (g.sublabel.empty()) {
        svg.text(x0 - 10, mid + 4, g.label, 12, "end", "#111");
      } else {
        svg.text(x0 - 10, mid - 2, g.label, 12, "end", "#111");
        svg.text(x0 - 10, mid + 12, g.sublabel, 10, "end", "#666");
      }
      const double base = ratio_index < g.values.size() ? g.values[ratio_index] : 0;
      for (std::size_t k = 0; k < nb && k < g.values.size(); ++k) {
        const double v = g.values[k];
        const double by = gy + kGroupPad + static_cast<double>(k) * (kBar + kBarGap);
        if (!(v > 0)) {
          svg.text(x0 + 4, by + kBar - 2, "n/a", 9.5, "start", "#999");
          continue;
        }
        const double w = std::max(1.0, v / axis_max * plot_w);
        std::string label = value_text(v);
        if (k != ratio_index && base > 0) label += " (" + fmt("%.2f", v / base) + "x)";
        svg.rect(x0, by, w, kBar, s.colours[k], s.series[k] + ": " + value_text(v) + " " + g.label);
        svg.text(x0 + w + 4, by + kBar - 1.5, label, 10, "start", "#333");
      }
    }
    y = bottom + 56;
  }
  return svg.finish(kWidth, y);
}

std::string line_chart_svg(const std::string& title, const std::string& subtitle, const std::string& x_label,
                           const std::vector<LinePanel>& panels) {
  constexpr double kWidth = 980, kLeft = 90, kRight = 170, kPlotH = 170;
  const double plot_w = kWidth - kLeft - kRight;
  double xmax = 0;
  for (const LinePanel& p : panels)
    for (const Series& s : p.series)
      for (const auto& pt : s.points) xmax = std::max(xmax, pt.first);
  const double xstep = nice_step(xmax, 10);
  const double x_axis_max = std::max(xstep, std::ceil(xmax / xstep - 1e-9) * xstep);
  auto px = [&](double x) { return kLeft + x / x_axis_max * plot_w; };

  Svg svg;
  svg.text(16, 28, title, 17, "start", "#111", "bold");
  svg.text(16, 48, subtitle, 11.5, "start", "#555");
  double y = 66;
  for (const LinePanel& p : panels) {
    svg.text(16, y + 18, p.title, 14, "start", "#111", "bold");
    double lx = kLeft + plot_w;  // legend at the right of the title line, right-aligned
    for (auto it = p.series.rbegin(); it != p.series.rend(); ++it) {
      lx -= text_width(it->name, 12);
      svg.text(lx, y + 18, it->name, 12);
      svg.rect(lx - 24, y + 12, 18, 3, it->colour);
      lx -= 40;
    }
    double top = y + 28;
    if (!p.note.empty()) {
      svg.text(16, y + 36, p.note, 11.5, "start", "#444");
      top += 14;
    }
    double ymax = 0;
    for (const Series& s : p.series)
      for (const auto& pt : s.points) ymax = std::max(ymax, pt.second);
    const double ystep = nice_step(ymax, 5);
    const double y_axis_max = std::max(ystep, std::ceil(ymax / ystep - 1e-9) * ystep);
    const double bottom = top + kPlotH;
    auto py = [&](double v) { return bottom - v / y_axis_max * kPlotH; };
    for (double t = 0; t <= y_axis_max + ystep / 2; t += ystep) {
      svg.line(kLeft, py(t), kLeft + plot_w, py(t), t == 0 ? "#888" : "#e0e0e0");
      svg.text(kLeft - 8, py(t) + 4, tick_text(t, ystep), 11, "end", "#444");
    }
    for (double t = 0; t <= x_axis_max + xstep / 2; t += xstep) {
      svg.line(px(t), top, px(t), bottom, t == 0 ? "#888" : "#eeeeee");
      svg.text(px(t), bottom + 15, tick_text(t, xstep), 11, "middle", "#444");
    }
    // The y label, turned.
    const double ly = (top + bottom) / 2;
    svg.raw("<text x=\"0\" y=\"0\" font-size=\"12\" text-anchor=\"middle\" fill=\"#222\" transform=\"translate(" +
            fmt("%.1f", kLeft - 58) + " " + fmt("%.1f", ly) + ") rotate(-90)\">" + xml_escape(p.y_label) +
            "</text>\n");
    std::vector<double> label_ys;  // the end labels already placed, kept 12 px apart
    for (const Series& s : p.series) {
      if (s.points.empty()) continue;
      std::string pts;
      for (const auto& pt : s.points) pts += fmt("%.1f", px(pt.first)) + "," + fmt("%.1f", py(pt.second)) + " ";
      svg.raw("<polyline fill=\"none\" stroke=\"" + s.colour + "\" stroke-width=\"2\" points=\"" + pts + "\"/>\n");
      for (const auto& pt : s.points)
        svg.raw("<circle cx=\"" + fmt("%.1f", px(pt.first)) + "\" cy=\"" + fmt("%.1f", py(pt.second)) +
                "\" r=\"2.5\" fill=\"" + s.colour + "\"><title>" +
                xml_escape(s.name + ": " + fmt("%.0f", pt.first) + ", " + value_text(pt.second)) +
                "</title></circle>\n");
      const auto& last = s.points.back();
      double ly_end = py(last.second) + 4;
      for (bool moved = true; moved;) {
        moved = false;
        for (double used : label_ys)
          if (std::fabs(used - ly_end) < 12) {
            ly_end = used + 12;
            moved = true;
          }
      }
      label_ys.push_back(ly_end);
      svg.text(px(last.first) + 8, ly_end, value_text(last.second), 11, "start", s.colour.c_str());
    }
    y = bottom + 26;
  }
  svg.text(kLeft + plot_w / 2, y + 4, x_label, 12, "middle", "#222");
  return svg.finish(kWidth, y + 20);
}

}  // namespace tramp::tools
