#include "pizzeria/net/redis_lock.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>
#include <vector>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/detail/waiter.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/stop_token.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/net/redis_error.hpp"

namespace pz {

namespace {

// SHA-1 (FIPS 180-4) of a script, in hex: the name EVALSHA runs it by.
// Computed here rather than asked of Redis (SCRIPT LOAD) to save a round
// trip per connection; SHA-1 is only a cache key here, not a defence.
std::string sha1_hex(const std::string& text) {
  std::array<std::uint32_t, 5> h{0x67452301U, 0xEFCDAB89U, 0x98BADCFEU, 0x10325476U, 0xC3D2E1F0U};
  std::string message = text;
  const std::uint64_t bits = static_cast<std::uint64_t>(text.size()) * 8;
  message.push_back(static_cast<char>(0x80));
  while (message.size() % 64 != 56) {
    message.push_back('\0');
  }
  for (int shift = 56; shift >= 0; shift -= 8) {
    message.push_back(static_cast<char>((bits >> shift) & 0xFFU));
  }
  const auto rotate = [](std::uint32_t value, int by) {
    return (value << by) | (value >> (32 - by));
  };
  for (std::size_t block = 0; block < message.size(); block += 64) {
    std::array<std::uint32_t, 80> w{};
    for (std::size_t i = 0; i < 16; ++i) {
      for (std::size_t b = 0; b < 4; ++b) {
        w[i] = (w[i] << 8) | static_cast<unsigned char>(message[block + i * 4 + b]);
      }
    }
    for (std::size_t i = 16; i < 80; ++i) {
      w[i] = rotate(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    }
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (std::size_t i = 0; i < 80; ++i) {
      std::uint32_t f = 0;
      std::uint32_t k = 0;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999U;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1U;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDCU;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6U;
      }
      const std::uint32_t next = rotate(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = rotate(b, 30);
      b = a;
      a = next;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (const std::uint32_t word : h) {
    for (int shift = 28; shift >= 0; shift -= 4) {
      hex.push_back(kHex[(word >> shift) & 0xFU]);
    }
  }
  return hex;
}

void fill_random(void* buffer, std::size_t size) {
  auto* bytes = static_cast<unsigned char*>(buffer);
  while (size > 0) {
    const ssize_t got = ::getrandom(bytes, size, 0);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw std::system_error(errno, std::generic_category(), "getrandom for a lock token");
    }
    bytes += got;
    size -= static_cast<std::size_t>(got);
  }
}

// 128 random bits: no two holders, on any machine, ever share a token.
std::string random_hex() {
  std::array<unsigned char, 16> bytes{};
  fill_random(bytes.data(), bytes.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (const unsigned char byte : bytes) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 0xFU]);
  }
  return hex;
}

std::string default_owner() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) {
    return "pid-" + std::to_string(::getpid());
  }
  return std::string(host.data()) + "-" + std::to_string(::getpid());
}

TimePoint now_on_loop() {
  if (EventLoop* loop = EventLoop::current()) {
    return loop->time();
  }
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

}  // namespace

struct RedisLock::Script {
  explicit Script(std::string body) : text(std::move(body)), sha(sha1_hex(text)) {}
  std::string text;
  std::string sha;
};

namespace {

// KEYS: the n lock keys, then their n fence counters. ARGV: the lease in
// ms ("0": none), then the n tokens. Nothing is written unless every lock
// is free. GET, not EXISTS, so that a lock key of another type is an error
// (WRONGTYPE) rather than a lock that looks held forever. The counters
// go up before the keys are set: if one is of the wrong type, INCR fails
// and no lock is left set by a script that reports an error.
const char* const kAcquireText = R"lua(
local n = #KEYS / 2
for i = 1, n do
  if redis.call('GET', KEYS[i]) then return false end
end
local fences = {}
for i = 1, n do fences[i] = redis.call('INCR', KEYS[n + i]) end
for i = 1, n do
  if ARGV[1] == '0' then
    redis.call('SET', KEYS[i], ARGV[1 + i])
  else
    redis.call('SET', KEYS[i], ARGV[1 + i], 'PX', ARGV[1])
  end
end
return fences
)lua";

// KEYS: the lock. ARGV: the token. Deletes only this holder's lock.
const char* const kReleaseText = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
)lua";

// KEYS: the lock. ARGV: the token, the lease in ms ("0": none).
const char* const kRenewText = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
  return 1
end
return 0
)lua";

}  // namespace

RedisLock::RedisLock(RedisConnection connection, std::string name, Options options)
    : connection_(std::move(connection)), name_(std::move(name)), options_(std::move(options)) {
  using std::chrono::milliseconds;
  if (name_.empty()) {
    throw std::invalid_argument("a Redis lock needs a name (its key)");
  }
  if (options_.lease < milliseconds(0)) {
    throw std::invalid_argument("lock " + name_ + ": the lease cannot be negative (0: no lease)");
  }
  if (options_.min_backoff < milliseconds(1) || options_.max_backoff < options_.min_backoff ||
      options_.answer_timeout < milliseconds(1)) {
    throw std::invalid_argument("lock " + name_ +
                                ": backoffs and the answer timeout must be at least 1 ms, the "
                                "minimum backoff no larger than the maximum");
  }
  if (options_.owner.empty()) {
    options_.owner = default_owner();
  }
  std::uint64_t seed = 0;
  fill_random(&seed, sizeof seed);
  random_.seed(seed);
}

std::string RedisLock::owner_of(const std::string& value) {
  const auto colon = value.rfind(':');
  return colon == std::string::npos ? value : value.substr(0, colon);
}

std::string RedisLock::lease_argument() const {
  return std::to_string(options_.lease.count());
}

std::uint64_t RedisLock::fencing_token() const {
  if (!fence_) {
    throw std::logic_error("lock " + name_ + ": no fencing token before a successful acquire");
  }
  return *fence_;
}

bool RedisLock::held() const noexcept {
  if (!held_) {
    return false;
  }
  return options_.lease.count() == 0 || now_on_loop() < valid_until_;
}

void RedisLock::on_acquired(TimePoint sent, std::uint64_t fence) {
  held_ = true;
  fence_ = fence;
  // Redis started the lease after it got the command, so counting from
  // before it was sent is on the safe side. The allowance is for Redis's
  // clock running faster than this one (Redlock's drift factor: 1% and
  // 2 ms).
  const Duration drift = options_.lease / 100 + std::chrono::milliseconds(2);
  valid_until_ = sent + options_.lease - drift;
}

Task<RedisReply> RedisLock::evaluate_unshielded(const Script& script, std::vector<std::string> keys,
                                                std::vector<std::string> arguments) {
  std::vector<std::string> words{"EVALSHA", script.sha, std::to_string(keys.size())};
  words.insert(words.end(), keys.begin(), keys.end());
  words.insert(words.end(), arguments.begin(), arguments.end());
  RedisReply reply = co_await connection_.command(words);
  if (reply.is_error() && reply.text.rfind("NOSCRIPT", 0) == 0) {
    // Redis forgot it (a restart, SCRIPT FLUSH): EVAL runs it and caches it
    // again, so the next EVALSHA finds it.
    words[0] = "EVAL";
    words[1] = script.text;
    reply = co_await connection_.command(std::move(words));
  }
  co_return reply;
}

Task<RedisReply> RedisLock::evaluate(const Script& script, std::vector<std::string> keys,
                                     std::vector<std::string> arguments) {
  Task<RedisReply> bounded = timeout(
      options_.answer_timeout, evaluate_unshielded(script, std::move(keys), std::move(arguments)));
  // Awaited with an empty stop token: the caller's cancellation does not
  // reach it, so this lock always learns what Redis did with the command.
  Task<RedisReply>::Awaiter awaiter(bounded.handle());
  awaiter.with_token(StopToken{});
  try {
    co_return co_await awaiter;
  } catch (const TimeoutError&) {
    held_ = false;
  }
  throw RedisLockError("lock " + name_ + ": Redis did not answer within " +
                       duration_text(options_.answer_timeout) + "; the lock's state is unknown");
}

Duration RedisLock::next_wait(Duration& step) {
  const auto count = static_cast<std::uint64_t>(step.count());
  std::uniform_int_distribution<std::uint64_t> pick(count / 2, count);
  const Duration wait(static_cast<Duration::rep>(pick(random_)));
  step = std::min<Duration>(step * 2, options_.max_backoff);
  return wait;
}

Task<bool> RedisLock::try_acquire() {
  RedisLock* self = this;
  co_return co_await try_acquire_all(std::span<RedisLock* const>(&self, 1));
}

Task<bool> RedisLock::acquire(Duration timeout) {
  RedisLock* self = this;
  co_return co_await acquire_all(std::span<RedisLock* const>(&self, 1), timeout);
}

Task<bool> RedisLock::try_acquire_all(std::span<RedisLock* const> locks) {
  if (locks.empty()) {
    throw std::invalid_argument("RedisLock::try_acquire_all: no locks");
  }
  RedisLock& first = *locks.front();
  std::size_t already = 0;
  for (RedisLock* lock : locks) {
    if (!(lock->connection_ == first.connection_)) {
      throw std::invalid_argument("RedisLock::try_acquire_all: lock " + lock->name_ +
                                  " uses another connection than lock " + first.name_);
    }
    already += lock->held() ? 1 : 0;
  }
  if (already == locks.size()) {
    co_return true;
  }
  if (already != 0) {
    throw std::logic_error("RedisLock::try_acquire_all: lock " + first.name_ +
                           " and the others must be all held or none");
  }
  std::vector<std::string> keys;
  std::vector<std::string> arguments{first.lease_argument()};
  for (RedisLock* lock : locks) {
    // A lease this holder believes past is not counted on any more, even
    // if Redis has not expired it yet.
    lock->held_ = false;
    keys.push_back(lock->name_);
    lock->token_ = lock->options_.owner + ":" + random_hex();
    arguments.push_back(lock->token_);
  }
  for (RedisLock* lock : locks) {
    keys.push_back(lock->fence_key());
  }
  static const Script script(kAcquireText);
  const TimePoint sent = now_on_loop();
  RedisReply reply;
  try {
    reply = co_await first.evaluate(script, std::move(keys), std::move(arguments));
  } catch (...) {
    for (RedisLock* lock : locks) {
      lock->held_ = false;
    }
    throw;
  }
  reply.or_throw("lock " + first.name_ + ": acquire");
  bool acquired = false;
  if (reply.kind == RedisReply::Kind::array && reply.elements.size() == locks.size() &&
      std::all_of(reply.elements.begin(), reply.elements.end(), [](const RedisReply& fence) {
        return fence.kind == RedisReply::Kind::integer && fence.integer > 0;
      })) {
    for (std::size_t i = 0; i < locks.size(); ++i) {
      locks[i]->on_acquired(sent, static_cast<std::uint64_t>(reply.elements[i].integer));
    }
    acquired = true;
  } else if (!reply.is_nil()) {
    throw RedisLockError("lock " + first.name_ + ": acquire got " + reply.describe() +
                         ", which no acquire script returns (is this Redis?)");
  }
  if ((co_await current_stop_token()).stop_requested()) {
    // Cancelled while the try was in flight: give back what it took, so a
    // cancelled acquire never leaves a lock behind.
    if (acquired) {
      for (RedisLock* lock : locks) {
        (void)co_await lock->release();
      }
    }
    throw CancelledError();
  }
  co_return acquired;
}

Task<bool> RedisLock::acquire_all(std::span<RedisLock* const> locks, Duration timeout) {
  if (locks.empty()) {
    throw std::invalid_argument("RedisLock::acquire_all: no locks");
  }
  // Copied: the caller's span may point at a temporary array that the
  // first suspension outlives only as part of this frame.
  const std::vector<RedisLock*> mine(locks.begin(), locks.end());
  RedisLock& first = *mine.front();
  const TimePoint start = now_on_loop();
  const TimePoint deadline =
      timeout >= TimePoint::max() - start ? TimePoint::max() : start + timeout;
  Duration step = first.options_.min_backoff;
  while (true) {
    if (co_await try_acquire_all(mine)) {
      co_return true;
    }
    const TimePoint now = now_on_loop();
    if (now >= deadline) {
      co_return false;
    }
    co_await sleep(std::min(first.next_wait(step), deadline - now));
  }
}

Task<bool> RedisLock::renew() {
  if (!held_) {
    co_return false;
  }
  static const Script script(kRenewText);
  const TimePoint sent = now_on_loop();
  RedisReply reply;
  std::vector<std::string> keys{name_};
  std::vector<std::string> arguments{token_, lease_argument()};
  try {
    reply = co_await timeout(options_.answer_timeout,
                             evaluate_unshielded(script, std::move(keys), std::move(arguments)));
  } catch (const TimeoutError&) {
    held_ = false;
    throw RedisLockError("lock " + name_ + ": Redis did not answer a renew within " +
                         duration_text(options_.answer_timeout) + "; the lock's state is unknown");
  } catch (...) {
    held_ = false;
    throw;
  }
  if (reply.is_error()) {
    held_ = false;
  }
  reply.or_throw("lock " + name_ + ": renew");
  if (reply.kind != RedisReply::Kind::integer || (reply.integer != 0 && reply.integer != 1)) {
    held_ = false;
    throw RedisLockError("lock " + name_ + ": renew got " + reply.describe() +
                         ", which the renew script never returns (is this Redis?)");
  }
  if (reply.integer == 0) {
    held_ = false;
    co_return false;
  }
  on_acquired(sent, *fence_);
  co_return true;
}

Task<bool> RedisLock::release() {
  if (token_.empty()) {
    co_return false;  // never tried: nothing of ours can be in Redis
  }
  // Whatever happens next, this holder no longer counts on the lock.
  held_ = false;
  static const Script script(kReleaseText);
  std::vector<std::string> keys{name_};
  std::vector<std::string> arguments{token_};
  RedisReply reply = co_await evaluate(script, std::move(keys), std::move(arguments));
  reply.or_throw("lock " + name_ + ": release");
  if (reply.kind != RedisReply::Kind::integer || (reply.integer != 0 && reply.integer != 1)) {
    throw RedisLockError("lock " + name_ + ": release got " + reply.describe() +
                         ", which the release script never returns (is this Redis?)");
  }
  co_return reply.integer == 1;
}

}  // namespace pz
