// Constant-time bearer-token checks on SHA-256 digests.
#include "net/bearer_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>
#include <fstream>
#include <stdexcept>

namespace offload::net {
namespace {

bearer_auth::digest hash(std::string_view text) {
  bearer_auth::digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return d;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

}  // namespace

bearer_auth::bearer_auth(const std::vector<std::string>& tokens) {
  for (const auto& t : tokens)
    if (!t.empty()) digests_.push_back(hash(t));
}

bool bearer_auth::allows(std::string_view authorization) const noexcept {
  if (!enabled()) return true;
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size()) return false;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return false;
  const auto candidate = trim(authorization.substr(scheme.size()));
  // Hashing first makes the comparison length-independent; every digest is compared.
  const auto d = hash(candidate);
  int matched = 0;
  for (const auto& accepted : digests_)
    matched |= CRYPTO_memcmp(d.data(), accepted.data(), d.size()) == 0 ? 1 : 0;
  return matched != 0 && !candidate.empty();
}

std::vector<std::string> bearer_auth::read_token_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot read the token file " + path);
  std::vector<std::string> tokens;
  for (std::string line; std::getline(file, line);) {
    const auto token = trim(line);
    if (token.empty() || token.front() == '#') continue;
    tokens.emplace_back(token);
  }
  if (tokens.empty()) throw std::runtime_error("the token file " + path + " holds no token");
  return tokens;
}

}  // namespace offload::net
