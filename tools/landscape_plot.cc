// Why one panel per tunable: the question a landscape answers is which tunables matter. A single
// chart of every candidate ranked by time shows how widely the times spread, but not which
// setting made a candidate slow. A panel per tunable, every candidate a mark at its value and
// time on one log time axis shared by all panels, shows it at a glance: where a tunable matters
// its columns sit at different heights, where it does not they look alike. The line through
// each column's fastest candidate is what choosing that value costs at best, and the panels come
// ordered by the largest such cost. Failures have no time, so they sit in a band above each
// panel, at their value: a tunable whose large values all fail shows that too.
#include "tools/landscape_plot.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "tools/svg.h"

namespace fusetune::cli {
namespace {

constexpr double kPanelWidth = 340, kPanelHeight = 240, kGap = 28;
constexpr double kPlotLeft = 54, kPlotRight = 12;  // inside a panel: room for the time labels
constexpr double kTitleHeight = 24, kBandHeight = 20, kAxisHeight = 44;
constexpr double kHeadingHeight = 140;
constexpr int kMaxColumns = 3;
constexpr std::size_t kFooterCharacters = 170;  // of 11px text across three panels

constexpr const char* kStyle =
    ".frame{fill:none;stroke:#bbb}.band{fill:#f6f0f0}.grid{stroke:#eee}"
    ".best{fill:none;stroke:#4477aa;stroke-width:1.5;opacity:0.6}"
    ".winner-time{stroke:#d4a000;stroke-dasharray:4 3}"
    ".winner{fill:#ffcc00;stroke:#000;stroke-width:1}"
    ".timed{fill:#4477aa;fill-opacity:0.75}"
    ".screened{fill:none;stroke:#999;stroke-width:1}"
    ".over-tolerance{fill:#ee7733}"
    ".failed{fill:none;stroke:#cc3311;stroke-width:1.6}"
    ".label{font-size:10px;fill:#555}.title{font-size:12px;font-weight:bold}"
    ".heading{font-size:16px;font-weight:bold}.note{font-size:11px;fill:#333}\n";

// The time axis, shared by every panel: log scale, slower higher.
struct TimeAxis {
  double low_log = 0, high_log = 1;

  TimeAxis(std::optional<double> fastest, std::optional<double> slowest) {
    const double low = fastest.value_or(1), high = std::max(slowest.value_or(1), low);
    // A little room above and below; a single time gets a range around it.
    low_log = std::log10(low) - (high > low ? 0.02 : 0.15);
    high_log = std::log10(high) + (high > low ? 0.02 : 0.15);
  }
  // 0 at the bottom of the plot, 1 at its top.
  double fraction(double ms) const { return (std::log10(ms) - low_log) / (high_log - low_log); }
  // Times at 1, 2 and 5 times a power of ten within the range; the range's ends where fewer
  // than two fall inside.
  std::vector<double> ticks() const {
    std::vector<double> found;
    for (int power = static_cast<int>(std::floor(low_log)); power <= std::ceil(high_log); ++power)
      for (const double step : {1.0, 2.0, 5.0}) {
        const double ms = step * std::pow(10.0, power);
        if (std::log10(ms) >= low_log && std::log10(ms) <= high_log) found.push_back(ms);
      }
    if (found.size() < 2) found = {std::pow(10.0, low_log + 0.01), std::pow(10.0, high_log - 0.01)};
    return found;
  }
};

// Where a candidate's marks go across its column: spread by a hash of its name, so that
// candidates of one value do not hide each other and the picture is the same every time.
double spread(const std::string& name) {
  std::uint32_t hash = 2166136261u;  // FNV-1a
  for (const unsigned char c : name) hash = (hash ^ c) * 16777619u;
  return (hash % 1001) / 1000.0 * 2 - 1;  // in [-1, 1]
}

std::string tooltip(const LandscapePoint& p) {
  if (p.time_ms) return fmt::format("{}: {:.4g} ms ({})", p.name, *p.time_ms, p.outcome);
  return fmt::format("{}: {}", p.name, p.outcome);
}

const char* class_of(Fate fate) {
  switch (fate) {
    case Fate::winner:
      return "winner";
    case Fate::timed:
      return "timed";
    case Fate::screened:
      return "screened";
    case Fate::over_tolerance:
      return "over-tolerance";
    case Fate::failed:
      break;
  }
  return "failed";
}

// A polygon's points around (x, y): a star of `points` tips, or a regular polygon where `inner`
// is 1.
std::string polygon_points(double x, double y, double radius, int corners, double inner) {
  std::vector<std::string> points;
  const int steps = inner < 1 ? corners * 2 : corners;
  for (int i = 0; i < steps; ++i) {
    const double r = (inner < 1 && i % 2 == 1) ? radius * inner : radius;
    const double angle = -std::numbers::pi / 2 + i * 2 * std::numbers::pi / steps;
    points.push_back(svg_number(x + r * std::cos(angle)) + "," +
                     svg_number(y + r * std::sin(angle)));
  }
  return fmt::format("{}", fmt::join(points, " "));
}

void mark(Svg& svg, Fate fate, double x, double y, const std::string& tip) {
  const std::string css = class_of(fate);
  switch (fate) {
    case Fate::winner:
      svg.element("polygon", {{"class", css}, {"points", polygon_points(x, y, 8, 5, 0.45)}}, tip);
      return;
    case Fate::timed:
    case Fate::screened:
      svg.element("circle",
                  {{"class", css}, {"cx", svg_number(x)}, {"cy", svg_number(y)}, {"r", "3.2"}},
                  tip);
      return;
    case Fate::over_tolerance:
      svg.element("polygon", {{"class", css}, {"points", polygon_points(x, y, 4.5, 3, 1)}}, tip);
      return;
    case Fate::failed:
      break;
  }
  svg.element("path",
              {{"class", css},
               {"d", fmt::format("M{0},{1}L{2},{3}M{0},{3}L{2},{1}", svg_number(x - 3),
                                 svg_number(y - 3), svg_number(x + 3), svg_number(y + 3))}},
              tip);
}

// One panel: the candidates' times against `axis`'s values, its top-left corner at (left, top).
void draw_panel(Svg& svg, const Landscape& landscape, const TunableAxis& axis,
                const TimeAxis& times, const std::optional<double>& winner_ms, double left,
                double top) {
  const double plot_left = left + kPlotLeft, plot_width = kPanelWidth - kPlotLeft - kPlotRight;
  const double band_top = top + kTitleHeight, plot_top = band_top + kBandHeight;
  const double plot_height = kPanelHeight - kTitleHeight - kBandHeight - kAxisHeight;
  const double plot_bottom = plot_top + plot_height;
  const double column = plot_width / axis.values.size();
  const auto y_of = [&](double ms) { return plot_bottom - times.fraction(ms) * plot_height; };
  const auto column_of = [&](const LandscapePoint& p) -> std::optional<std::size_t> {
    const auto setting = p.settings.find(axis.key);
    if (setting == p.settings.end()) return std::nullopt;  // another family's candidate
    const auto it = std::ranges::find(axis.values, setting->second);
    if (it == axis.values.end()) return std::nullopt;
    return static_cast<std::size_t>(it - axis.values.begin());
  };
  const auto x_of = [&](std::size_t i, const std::string& name) {
    return plot_left + (i + 0.5) * column + spread(name) * std::min(column * 0.3, 24.0);
  };

  svg.open_group({{"class", "panel"}, {"data-tunable", axis.key}});
  svg.element("rect", {{"class", "frame"},
                       {"x", svg_number(left)},
                       {"y", svg_number(top)},
                       {"width", svg_number(kPanelWidth)},
                       {"height", svg_number(kPanelHeight)}});
  svg.text(left + 8, top + 16, axis.key, {{"class", "title"}});
  svg.text(left + kPanelWidth - 8, top + 16, fmt::format("×{:.2f}", axis.cost_of_worst_value),
           {{"class", "title"}, {"text-anchor", "end"}});
  svg.element("rect", {{"class", "band"},
                       {"x", svg_number(plot_left)},
                       {"y", svg_number(band_top)},
                       {"width", svg_number(plot_width)},
                       {"height", svg_number(kBandHeight - 4)}});
  svg.text(left + 6, band_top + 12, "no time", {{"class", "label"}});
  for (const double ms : times.ticks()) {
    const std::string y = svg_number(y_of(ms));
    svg.element("line", {{"class", "grid"},
                         {"x1", svg_number(plot_left)},
                         {"x2", svg_number(plot_left + plot_width)},
                         {"y1", y},
                         {"y2", y}});
    svg.text(plot_left - 4, y_of(ms) + 3, fmt::format("{:.3g} ms", ms),
             {{"class", "label"}, {"text-anchor", "end"}});
  }
  if (winner_ms) {
    const std::string y = svg_number(y_of(*winner_ms));
    svg.element("line", {{"class", "winner-time"},
                         {"x1", svg_number(plot_left)},
                         {"x2", svg_number(plot_left + plot_width)},
                         {"y1", y},
                         {"y2", y}});
  }
  const bool slanted = axis.values.size() > 8;
  for (std::size_t i = 0; i < axis.values.size(); ++i) {
    const double x = plot_left + (i + 0.5) * column, y = plot_bottom + 14;
    if (slanted)
      svg.text(x, y, axis.values[i],
               {{"class", "label"},
                {"text-anchor", "end"},
                {"transform", fmt::format("rotate(-40 {} {})", svg_number(x), svg_number(y))}});
    else
      svg.text(x, y, axis.values[i], {{"class", "label"}, {"text-anchor", "middle"}});
  }
  // The best time at each value, joined left to right.
  std::vector<std::optional<double>> best(axis.values.size());
  for (const LandscapePoint& p : landscape.points)
    if (const std::optional<std::size_t> i = column_of(p); i && p.time_ms)
      best[*i] = std::min(best[*i].value_or(*p.time_ms), *p.time_ms);
  std::vector<std::string> line;
  for (std::size_t i = 0; i < best.size(); ++i)
    if (best[i])
      line.push_back(svg_number(plot_left + (i + 0.5) * column) + "," + svg_number(y_of(*best[i])));
  if (line.size() > 1)
    svg.element("polyline",
                {{"class", "best"}, {"points", fmt::format("{}", fmt::join(line, " "))}});
  // The winner last, on top of the others.
  for (const bool winners : {false, true})
    for (const LandscapePoint& p : landscape.points) {
      const std::optional<std::size_t> i = column_of(p);
      if (!i || (p.fate == Fate::winner) != winners) continue;
      const double y = p.time_ms ? y_of(*p.time_ms) : band_top + (kBandHeight - 4) / 2;
      mark(svg, p.fate, x_of(*i, p.name), y, tooltip(p));
    }
  svg.close_group();
}

// `text` cut into lines of at most `width` characters at spaces (SVG text does not wrap).
std::vector<std::string> wrapped(const std::string& text, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

int count(const Landscape& landscape, Fate fate) {
  return static_cast<int>(std::ranges::count(landscape.points, fate, &LandscapePoint::fate));
}

void draw_heading(Svg& svg, const Landscape& landscape, const PlotHeading& h) {
  svg.text(kGap, 30, h.spec, {{"class", "heading"}});
  svg.text(kGap, 50,
           fmt::format("{}, precision {}; tuned {}; from {}", h.device, h.precision, h.updated_at,
                       h.database),
           {{"class", "note"}});
  svg.text(
      kGap, 66,
      fmt::format(
          "{} candidates: {} timed in full, {} screened out, {} over tolerance, {} "
          "failed{}; winner {}",
          landscape.points.size() + landscape.unreadable,
          count(landscape, Fate::timed) + count(landscape, Fate::winner),
          count(landscape, Fate::screened), count(landscape, Fate::over_tolerance),
          count(landscape, Fate::failed),
          landscape.unreadable > 0
              ? fmt::format(", {} unreadable by this build (left out)", landscape.unreadable)
              : "",
          h.winner.empty() ? "none"
                           : fmt::format("{} at {:.4g} ms", h.winner, h.winner_ms.value_or(0))),
      {{"class", "note"}});
  svg.text(kGap, 82,
           "One panel per tunable, the costliest to get wrong first: ×, how much slower the best "
           "candidate is at the tunable's worst value than at its best.",
           {{"class", "note"}});
  svg.text(kGap, 98,
           "Time on a log scale shared by every panel; candidates without a time in the band "
           "above it. Hover a mark for its candidate.",
           {{"class", "note"}});
  const struct {
    Fate fate;
    const char* text;
  } legend[] = {{Fate::winner, "winner"},
                {Fate::timed, "timed in full"},
                {Fate::screened, "screened out after a first timing"},
                {Fate::over_tolerance, "over tolerance"},
                {Fate::failed, "failed (compile, resources, fault, timeout)"}};
  double x = kGap + 6;
  for (const auto& entry : legend) {
    mark(svg, entry.fate, x, 116, "");
    svg.text(x + 10, 120, entry.text, {{"class", "note"}});
    x += 28 + 5.8 * std::string_view(entry.text).size();
  }
  svg.element("line", {{"class", "best"},
                       {"x1", svg_number(x - 6)},
                       {"x2", svg_number(x + 14)},
                       {"y1", "116"},
                       {"y2", "116"}});
  svg.text(x + 20, 120, "best time at each value", {{"class", "note"}});
}

}  // namespace

std::string landscape_svg(const Landscape& landscape, const PlotHeading& heading) {
  std::vector<TunableAxis> axes = landscape.axes;
  // Nothing varied: one column of the one family still shows every candidate's time and fate.
  if (axes.empty() && !landscape.points.empty())
    axes.push_back({.key = "family", .values = {landscape.points.front().settings.at("family")}});
  if (axes.empty()) axes.push_back({.key = "family", .values = {"-"}});
  const int columns = std::min<int>(kMaxColumns, static_cast<int>(axes.size()));
  const int rows = (static_cast<int>(axes.size()) + columns - 1) / columns;
  const std::vector<std::string> footer_lines = wrapped(
      landscape.fixed.empty()
          ? ""
          : fmt::format("The same in every candidate: {}.", fmt::join(landscape.fixed, ", ")),
      kFooterCharacters);
  const double footer = kGap + 16.0 * footer_lines.size();
  const double width = std::max(kGap + columns * (kPanelWidth + kGap), 1100.0);
  const double height = kHeadingHeight + rows * (kPanelHeight + kGap) + footer;
  Svg svg(width, height, kStyle);
  draw_heading(svg, landscape, heading);
  const TimeAxis times(landscape.fastest_ms, landscape.slowest_ms);
  for (std::size_t i = 0; i < axes.size(); ++i) {
    const double left = kGap + (i % columns) * (kPanelWidth + kGap);
    const double top = kHeadingHeight + (i / columns) * (kPanelHeight + kGap);
    draw_panel(svg, landscape, axes[i], times, heading.winner_ms, left, top);
  }
  for (std::size_t i = 0; i < footer_lines.size(); ++i)
    svg.text(kGap, height - footer + 16.0 * (i + 1), footer_lines[i], {{"class", "note"}});
  return svg.finish();
}

}  // namespace fusetune::cli
