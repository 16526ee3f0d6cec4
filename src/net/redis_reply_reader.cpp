#include "pizzeria/net/redis_reply_reader.hpp"

#include <hiredis/hiredis.h>

#include <new>
#include <stdexcept>
#include <string>

#include "pizzeria/net/redis_reply_too_large_error.hpp"

namespace pz {

namespace {

struct ReplyDeleter {
  void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};

RedisReply to_value(const redisReply& reply) {
  RedisReply value;
  switch (reply.type) {
    case REDIS_REPLY_STATUS:
      value.kind = RedisReply::Kind::status;
      value.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      value.kind = RedisReply::Kind::error;
      value.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      value.kind = RedisReply::Kind::integer;
      value.integer = reply.integer;
      break;
    case REDIS_REPLY_STRING:
      value.kind = RedisReply::Kind::bulk;
      value.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ARRAY:
      value.kind = RedisReply::Kind::array;
      value.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) {
        value.elements.push_back(to_value(*reply.element[i]));
      }
      break;
    default:  // REDIS_REPLY_NIL
      value.kind = RedisReply::Kind::nil;
      break;
  }
  return value;
}

// hiredis's own object functions, and the same counting elements. The
// defaults are not exported, so they are taken from a reader made for the
// purpose.
struct ReplyFunctions {
  redisReplyObjectFunctions defaults{};
  redisReplyObjectFunctions bounded{};
};

ReplyFunctions& reply_functions();

// One more element for the reply, or false (and the reply refused) when it
// would pass the limit; `announced` more are on their way (an array's
// count). Checked before hiredis allocates (see the header).
bool admit(const redisReadTask* task, std::size_t announced = 0) {
  auto& budget = *static_cast<RedisReplyReader::Budget*>(task->privdata);
  if (budget.elements + 1 + announced > budget.max_elements) {
    budget.refused = true;
    return false;  // a null object: hiredis then fails the reply
  }
  ++budget.elements;
  return true;
}

void* bounded_string(const redisReadTask* task, char* text, std::size_t length) {
  return admit(task) ? reply_functions().defaults.createString(task, text, length) : nullptr;
}
void* bounded_array(const redisReadTask* task, int elements) {
  const std::size_t announced = elements > 0 ? static_cast<std::size_t>(elements) : 0;
  return admit(task, announced) ? reply_functions().defaults.createArray(task, elements) : nullptr;
}
void* bounded_integer(const redisReadTask* task, long long value) {
  return admit(task) ? reply_functions().defaults.createInteger(task, value) : nullptr;
}
void* bounded_nil(const redisReadTask* task) {
  return admit(task) ? reply_functions().defaults.createNil(task) : nullptr;
}

ReplyFunctions& reply_functions() {
  static ReplyFunctions functions = [] {
    redisReader* probe = redisReaderCreate();
    if (probe == nullptr || probe->fn == nullptr) {
      redisReaderFree(probe);
      throw std::bad_alloc();
    }
    ReplyFunctions made{*probe->fn, *probe->fn};
    redisReaderFree(probe);
    made.bounded.createString = &bounded_string;
    made.bounded.createArray = &bounded_array;
    made.bounded.createInteger = &bounded_integer;
    made.bounded.createNil = &bounded_nil;
    return made;
  }();
  return functions;
}

}  // namespace

void RedisReplyReader::ReaderDeleter::operator()(redisReader* reader) const noexcept {
  redisReaderFree(reader);
}

RedisReplyReader::RedisReplyReader(std::size_t max_bytes, std::size_t max_elements)
    : budget_{.max_bytes = max_bytes, .max_elements = max_elements},
      reader_(redisReaderCreateWithFunctions(&reply_functions().bounded)) {
  if (!reader_) {
    throw std::bad_alloc();
  }
  reader_->privdata = &budget_;  // for the object functions (admit)
}

RedisReplyReader::~RedisReplyReader() = default;

std::size_t RedisReplyReader::unparsed() const noexcept {
  // Not the reader's len - pos: hiredis consumes the type byte (and more)
  // of a reply it has begun, so that would undercount a partial reply.
  return budget_.bytes;
}

void RedisReplyReader::feed(std::string_view bytes) {
  budget_.bytes += bytes.size();
  if (budget_.bytes > budget_.max_bytes) {
    throw RedisReplyTooLargeError("the server sent a reply of more than " +
                                  std::to_string(budget_.max_bytes) +
                                  " bytes, more than this client takes");
  }
  if (redisReaderFeed(reader_.get(), bytes.data(), bytes.size()) != REDIS_OK) {
    throw std::runtime_error(reader_->errstr);
  }
}

std::optional<RedisReply> RedisReplyReader::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
    if (budget_.refused) {
      throw RedisReplyTooLargeError("the server sent a reply of more than " +
                                    std::to_string(budget_.max_elements) +
                                    " elements, more than this client takes");
    }
    throw std::runtime_error(std::string("the server sent a reply that is not RESP: ") +
                             reader_->errstr);
  }
  if (raw == nullptr) {
    return std::nullopt;
  }
  const std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(raw));
  // What the reader still holds is the start of the next replies.
  // (hiredis stops at the end of a complete reply, so len - pos is exact here.)
  budget_.bytes = reader_->len - reader_->pos;
  budget_.elements = 0;
  return to_value(*reply);
}

}  // namespace pz
