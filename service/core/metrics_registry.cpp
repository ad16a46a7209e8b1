// Prometheus text exposition.
#include "core/metrics_registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace offload::core {
namespace {

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  // The shortest text that reads back as the same double: a start time keeps its milliseconds.
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, v);
  return ec == std::errc{} ? std::string(text, end) : std::string{"NaN"};
}

// `{a="x"}` + `le="…"` → `{a="x",le="…"}`.
std::string with_label(const std::string& labels, const std::string& extra) {
  if (labels.empty()) return "{" + extra + "}";
  return labels.substr(0, labels.size() - 1) + "," + extra + "}";
}

}  // namespace

void metrics_registry::declare(std::string name, std::string help, kind k, std::vector<double> buckets) {
  auto& f = families_[std::move(name)];
  f.help = std::move(help);
  f.type = k;
  std::sort(buckets.begin(), buckets.end());
  f.buckets = std::move(buckets);
}

metrics_registry::series& metrics_registry::find(std::string_view name, std::string_view labels,
                                                 kind expected) {
  const auto f = families_.find(name);
  if (f == families_.end() || (f->second.type == kind::histogram) != (expected == kind::histogram))
    throw std::logic_error("metric " + std::string{name} + " is not declared as that kind");
  auto& by_labels = f->second.by_labels;
  if (const auto it = by_labels.find(labels); it != by_labels.end()) return it->second;
  auto& s = by_labels.emplace(std::string{labels}, series{}).first->second;
  if (expected == kind::histogram) s.bucket_counts.assign(f->second.buckets.size(), 0);
  return s;
}

void metrics_registry::ensure(std::string_view family, const std::string& labels) {
  const auto f = families_.find(family);
  if (f == families_.end()) throw std::logic_error("metric " + std::string{family} + " is not declared");
  find(family, labels, f->second.type);
}

void metrics_registry::add(std::string_view family, const std::string& labels, double by) {
  find(family, labels, kind::counter).value += by;
}

void metrics_registry::set(std::string_view family, const std::string& labels, double value) {
  find(family, labels, kind::gauge).value = value;
}

void metrics_registry::add(std::string_view family, label_list labels, double by) {
  scratch_.clear();
  append_labels(scratch_, labels);
  find(family, scratch_, kind::counter).value += by;
}

void metrics_registry::observe(std::string_view family, label_list labels, double value) {
  scratch_.clear();
  append_labels(scratch_, labels);
  observe(family, scratch_, value);
}

void metrics_registry::observe(std::string_view family, const std::string& labels, double value) {
  const auto& bounds = families_.find(family)->second.buckets;
  auto& s = find(family, labels, kind::histogram);
  // Buckets are stored non-cumulatively and summed on render: one increment per observation.
  const auto at = std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin();
  if (static_cast<std::size_t>(at) < s.bucket_counts.size()) ++s.bucket_counts[static_cast<std::size_t>(at)];
  s.sum += value;
  ++s.count;
}

void metrics_registry::set_histogram(std::string_view family, const std::string& labels,
                                     std::span<const std::uint64_t> counts, double sum) {
  auto& s = find(family, labels, kind::histogram);
  if (counts.size() != s.bucket_counts.size() + 1)
    throw std::logic_error("metric " + std::string{family} + ": counts do not match its buckets");
  std::copy(counts.begin(), counts.end() - 1, s.bucket_counts.begin());
  s.count = 0;
  for (const auto c : counts)
    s.count += c;
  s.sum = sum;
}

void metrics_registry::on_collect(std::function<void(metrics_registry&)> collect) {
  collectors_.push_back(std::move(collect));
}

std::string metrics_registry::render() {
  for (const auto& collect : collectors_)
    collect(*this);
  std::string out;
  out.reserve(8192);
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " ";
    out += f.type == kind::counter ? "counter\n" : f.type == kind::gauge ? "gauge\n" : "histogram\n";
    for (const auto& [labels, s] : f.by_labels) {
      if (f.type != kind::histogram) {
        out += name + labels + " " + number(s.value) + "\n";
        continue;
      }
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += s.bucket_counts[i];
        out += name + "_bucket" + with_label(labels, "le=\"" + number(f.buckets[i]) + "\"") + " " +
               std::to_string(cumulative) + "\n";
      }
      out += name + "_bucket" + with_label(labels, "le=\"+Inf\"") + " " + std::to_string(s.count) + "\n";
      out += name + "_sum" + labels + " " + number(s.sum) + "\n";
      out += name + "_count" + labels + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

std::string metrics_registry::label_text(label_list labels) {
  std::string out;
  append_labels(out, labels);
  return out;
}

void metrics_registry::append_labels(std::string& out, label_list labels) {
  if (labels.size() == 0) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    for (const char c : value) {
      if (c == '\\' || c == '"') {
        out += '\\';
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
  }
  out += '}';
}

}  // namespace offload::core
