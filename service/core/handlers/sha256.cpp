// `sha256`: iterated SHA-256. Round 1 hashes the UTF-8 data; each further round hashes the previous digest.
#include "core/handlers/builtin_types.hpp"

#include <offload/proto/json_fields.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>

namespace offload::core::handlers {
namespace {

constexpr std::uint64_t max_rounds = 10'000'000;
// Rounds between stop checks, which are also where the job gives way (handler_context::stop_requested):
// 0.3 ms of work on the bench machine.
constexpr std::uint64_t rounds_per_check = 1024;

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

std::string to_hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0xf];
  }
  return out;
}

std::optional<proto::error> validate(const nlohmann::json& input) {
  if (auto unknown = proto::reject_unknown_fields(input, {"data", "rounds"})) return unknown;
  const auto data = input.find("data");
  if (data == input.end() || !data->is_string())
    return proto::invalid_field("data", "is required (a string)");
  auto rounds = proto::read_optional_uint(input, "rounds", 1, max_rounds);
  if (!rounds) return rounds.error();
  return std::nullopt;
}

proto::result<nlohmann::json> run(const nlohmann::json& input, handler_context& ctx) {
  const auto& data = input.at("data").get_ref<const std::string&>();
  const std::uint64_t rounds = input.value("rounds", std::uint64_t{1});
  const std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> md{EVP_MD_CTX_new()};
  if (!md) throw std::bad_alloc();
  const EVP_MD* sha256 = EVP_sha256();

  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  auto hash = [&](const void* bytes, std::size_t n) {
    if (EVP_DigestInit_ex(md.get(), sha256, nullptr) != 1 || EVP_DigestUpdate(md.get(), bytes, n) != 1 ||
        EVP_DigestFinal_ex(md.get(), digest.data(), &length) != 1)
      throw std::runtime_error("OpenSSL SHA-256 failed");
  };

  hash(data.data(), data.size());
  progress_reporter progress{ctx, rounds};
  for (std::uint64_t round = 2; round <= rounds; ++round) {
    hash(digest.data(), length);
    if (round % rounds_per_check == 0 && ctx.stop_requested()) return stopped_error();
    progress.update(round,
                    [&] { return "round " + std::to_string(round) + " of " + std::to_string(rounds); });
  }
  return nlohmann::json{{"hex", to_hex(digest.data(), length)}};
}

}  // namespace

job_type sha256_type() {
  return job_type{
      .name = "sha256",
      .description =
          "Iterated SHA-256 of a string: round 1 hashes the data, each next round the previous digest.",
      .input_schema = {{"type", "object"},
                       {"required", {"data"}},
                       {"additionalProperties", false},
                       {"properties",
                        {{"data", {{"type", "string"}}},
                         {"rounds",
                          {{"type", "integer"}, {"minimum", 1}, {"maximum", max_rounds}, {"default", 1}}}}}},
      .lanes = {proto::lane::thread, proto::lane::process},
      .validate = validate,
      .run = run,
  };
}

}  // namespace offload::core::handlers
