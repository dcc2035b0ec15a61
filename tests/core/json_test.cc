#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "core/fields.h"
#include "core/json_canonical.h"
#include "core/json_value.h"
#include "core/json_writer.h"

namespace custos::core {
namespace {

TEST(JsonWriterTest, EscapesOnlyQuoteBackslashAndControlCharacters) {
  std::string out;
  AppendJsonString(out, "a\"b\\c/d\n\t\x01\x1f\x7f é 😀");
  EXPECT_EQ(out, "\"a\\\"b\\\\c/d\\n\\t\\u0001\\u001f\x7f é 😀\"");
}

TEST(JsonWriterTest, ReplacesInvalidUtf8) {
  std::string out;
  AppendJsonString(out, std::string("ok\xff\xc3(x\xed\xa0\x80", 9));
  EXPECT_EQ(out, "\"ok\xEF\xBF\xBD\xEF\xBF\xBD(x\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_TRUE(IsValidUtf8(out));
}

// The escaping byte by byte, as the contract says it (RFC 8259 and U+FFFD for what is not
// UTF-8), against AppendJsonString's eight-bytes-at-a-time skipping, for strings of every
// length and alignment made of the bytes that matter.
std::string EscapeByteByByte(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      const char* named[] = {"\\b", "\\t", "\\n", nullptr, "\\f", "\\r"};
      if (c >= 8 && c <= 13 && named[c - 8] != nullptr) {
        out += named[c - 8];
      } else {
        char u[8];
        std::snprintf(u, sizeof u, "\\u%04x", c);
        out += u;
      }
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      const size_t n = c >= 0xC2 && c <= 0xDF   ? 2
                       : c >= 0xE0 && c <= 0xEF ? 3
                       : c >= 0xF0 && c <= 0xF4 ? 4
                                                : 0;
      if (n != 0 && i + n <= s.size() && IsValidUtf8(s.substr(i, n))) {
        out.append(s.substr(i, n));
        i += n;
        continue;
      }
      out += "\xEF\xBF\xBD";
    }
    ++i;
  }
  return out + "\"";
}

TEST(JsonWriterTest, EscapingMatchesTheByteByByteRuleAtEveryLengthAndAlignment) {
  const std::vector<std::string> pieces = {"a",
                                           "Z",
                                           "0",
                                           " ",
                                           "/",
                                           "~",
                                           "\"",
                                           "\\",
                                           "\n",
                                           "\t",
                                           std::string(1, '\0'),
                                           "\x1f",
                                           "\x7f",
                                           "é",
                                           "😀",
                                           "€",
                                           "\xff",
                                           "\xc3",
                                           "\xed\xa0\x80",
                                           "\xe0\x80\x80",
                                           "\xf4\x90\x80\x80",
                                           "abcdefgh",
                                           "usr_0192f1c2a3b4"};
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    std::string s;
    const size_t parts = rng() % 12;
    for (size_t p = 0; p < parts; ++p) {
      // Mostly plain text, so that long plain runs meet a special byte at every offset.
      s += rng() % 3 != 0 ? pieces[rng() % 2] : pieces[rng() % pieces.size()];
    }
    std::string out;
    AppendJsonString(out, s);
    ASSERT_EQ(out, EscapeByteByByte(s)) << "input of " << s.size() << " bytes";
  }
}

TEST(JsonWriterTest, WritesCompactObjectsAndArrays) {
  JsonWriter w;
  w.BeginObject()
      .Key("a")
      .Int(-1)
      .Key("b")
      .BeginArray()
      .UInt(2)
      .Bool(true)
      .Null()
      .String("x")
      .EndArray()
      .Key("c")
      .Raw("{\"d\":1}")
      .Key("e")
      .BeginObject()
      .EndObject()
      .EndObject();
  EXPECT_EQ(w.str(), "{\"a\":-1,\"b\":[2,true,null,\"x\"],\"c\":{\"d\":1},\"e\":{}}");
  EXPECT_TRUE(IsCanonicalJson(w.str()));
}

TEST(JsonCanonicalTest, RemovesWhitespaceAndNormalizesEscapes) {
  EXPECT_EQ(*CanonicalizeJson(" { \"a\" : [ 1 , 2.5e3 , -0 ] ,\n\"b\":\"\\u0041\\/\\u00e9\" } "),
            "{\"a\":[1,2.5e3,-0],\"b\":\"A/é\"}");
  EXPECT_EQ(*CanonicalizeJson("\"\\ud83d\\ude00\""), "\"😀\"");
  EXPECT_EQ(*CanonicalizeJson("\"\\u0007\\b\""), "\"\\u0007\\b\"");
  EXPECT_EQ(*CanonicalizeJson("true"), "true");
}

TEST(JsonCanonicalTest, RejectsInvalidJsonNamingTheByte) {
  struct Case {
    const char* text;
    const char* reason;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"{\"a\":1,}", "expected a string key"},
           {"{\"a\":1 \"b\":2}", "expected ',' or '}'"},
           {"[01]", "expected ',' or ']'"},
           {"1.", "expected a digit after '.'"},
           {"-", "expected a value"},
           {"\"a", "unterminated string"},
           {"\"\\x\"", "invalid escape"},
           {"\"\\ud83d\"", "lone high surrogate"},
           {"\"\\ude00\"", "lone low surrogate"},
           {"{\"a\":1,\"a\":2}", "duplicate key"},
           {"[1] 2", "unexpected data"},
           {"nul", "invalid literal"},
           {"\"tab\there\"", "unescaped control character"},
           {"\"\xff\"", "not valid UTF-8"},
           {"", "unexpected end of input"},
       }) {
    Result<std::string> r = CanonicalizeJson(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos)
        << c.text << " -> " << r.error().message;
    EXPECT_NE(r.error().message.find("at byte "), std::string::npos);
  }
  EXPECT_EQ(CanonicalizeJson("{\"a\":1,}").error().message,
            "invalid JSON at byte 7: expected a string key");
}

TEST(JsonCanonicalTest, LimitsNesting) {
  std::string deep(kMaxJsonDepth, '[');
  deep += std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(CanonicalizeJson(deep).ok());
  std::string deeper(kMaxJsonDepth + 1, '[');
  deeper += std::string(kMaxJsonDepth + 1, ']');
  EXPECT_FALSE(CanonicalizeJson(deeper).ok());
}

TEST(JsonCanonicalTest, CanonicalTextIsItsOwnCanonicalForm) {
  EXPECT_TRUE(IsCanonicalJsonObject("{\"a\":{\"b\":[1,\"\\n\"]}}"));
  EXPECT_FALSE(IsCanonicalJsonObject("{\"a\": 1}"));
  EXPECT_FALSE(IsCanonicalJsonObject("{\"a\":\"\\u0041\"}"));
  EXPECT_FALSE(IsCanonicalJsonObject("[1]"));
}

// IsCanonicalJson checks in one pass what CanonicalizeJson would change: the two must agree
// on every text, canonical or not, valid or not.
TEST(JsonCanonicalTest, TheOnePassCheckAgreesWithCanonicalizingOnRandomAndMutatedTexts) {
  auto by_definition = [](std::string_view text) {
    Result<std::string> c = CanonicalizeJson(text);
    return c.ok() && *c == text;
  };
  const std::vector<std::string> seeds = {
      R"({"a":1,"b":[true,false,null],"c":{"d":"e\n\u0001\"\\"}})",
      R"({"tenant":"acme","seq":12,"data":{"name":"Zoë 😀","x":-0.5e+3},"changes":[]})",
      R"(["\u001f","\u007f","\t\b\f\r",0,-1,1.25E-2,{},[]])",
      "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"",
      R"({"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,)"
      R"("k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k18":{"k0":[1]}})",
  };
  // Bytes that matter to JSON, to escapes, to UTF-8 and to whitespace.
  const std::string alphabet =
      "{}[]\":,\\/ubfnrt0189aeEF+-. \t\n\r\x01\x1f\x7f\x80\xA0\xBF\xC0\xC3\xED\xEF\xF0\xF4\xF5";
  std::mt19937 rng(20261202);
  int canonical = 0;
  int checked = 0;
  for (int round = 0; round < 100'000; ++round) {
    std::string text = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 4) {
        case 0:
          text.insert(text.begin() + static_cast<std::ptrdiff_t>(at),
                      alphabet[rng() % alphabet.size()]);
          break;
        case 1:
          text.erase(at, 1);
          break;
        case 2:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
        default: {  // a copy of a stretch of itself: duplicate keys, deeper nesting
          const size_t len = std::min<size_t>(1 + rng() % 12, text.size() - at);
          text.insert(rng() % text.size(), text.substr(at, len));
        }
      }
    }
    // Half the time its canonical form, when it has one: canonical texts of every shape.
    if (rng() % 2 == 0) {
      if (Result<std::string> c = CanonicalizeJson(text); c.ok()) text = *c;
    }
    const bool expected = by_definition(text);
    ASSERT_EQ(IsCanonicalJson(text), expected) << text;
    canonical += expected ? 1 : 0;
    ++checked;
  }
  // Both answers were well represented.
  EXPECT_GT(canonical, checked / 20);
  EXPECT_LT(canonical, checked * 4 / 5);
  // The limits: depth, members, duplicates among many keys.
  std::string deep(kMaxJsonDepth, '[');
  deep += std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(IsCanonicalJson(deep));
  EXPECT_FALSE(IsCanonicalJson("[" + deep + "]"));
  std::string many = "{";
  for (int i = 0; i < 10'000; ++i) many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  EXPECT_TRUE(IsCanonicalJson(many + "}"));
  EXPECT_FALSE(IsCanonicalJson(many + ",\"k10000\":1}"));  // 10,001 members
  EXPECT_FALSE(IsCanonicalJson(many + ",\"k17\":1}"));     // a duplicate among many
  EXPECT_FALSE(IsCanonicalJson("{\"a\":{\"a\":1},\"a\":2}"));
  EXPECT_TRUE(IsCanonicalJson("{\"a\":{\"a\":1},\"b\":{\"a\":2}}"));
  EXPECT_FALSE(IsCanonicalJson(""));
  EXPECT_FALSE(IsCanonicalJson("1 "));
}

}  // namespace
}  // namespace custos::core

namespace custos::core {
namespace {

TEST(JsonParseTest, ManyDistinctKeysParseInLinearTime) {
  // The attack of a 1 MiB body of distinct keys: refused at 10,000 members, quickly.
  std::string many = "{";
  for (int i = 0; i < 130'000; ++i) {
    if (i > 0) many += ',';
    many += "\"k" + std::to_string(i) + "\":1";
  }
  many += '}';
  const auto start = std::chrono::steady_clock::now();
  Result<JsonValue> v = ParseJson(many);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("10000 members"), std::string::npos) << v.error().message;
  // 10,000 distinct keys are fine, and a duplicate among them is still found.
  std::string ten = "{";
  for (int i = 0; i < 10'000; ++i) ten += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  EXPECT_TRUE(ParseJson(ten + "}").ok());
  EXPECT_NE(ParseJson(ten + ",\"k9999\":2}").error().message.find("duplicate"), std::string::npos);
  EXPECT_FALSE(CanonicalizeJson(many).ok());
  // Not a timing assertion of speed, a bound against the quadratic check (27 s before).
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(JsonParseTest, NumbersAreKeptAsSent) {
  const std::string sent =
      R"({"amount":1.1,"price":19.99,"exp":1e2,"big":123456789012345678901234567890,"neg":-0.0})";
  Result<JsonValue> v = ParseJson(sent);
  ASSERT_TRUE(v.ok()) << v.error().ToString();
  EXPECT_EQ(v->ToJson(), sent);
  EXPECT_EQ(*CanonicalizeJson(sent), sent);
  EXPECT_EQ(v->Find("big")->AsInt(), std::nullopt);  // too big for an int64 field, still JSON
}

struct Counts {
  uint64_t big = 0;
  uint32_t small = 0;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("big", s.big);
    v("small", s.small);
  }
};

TEST(FieldsTest, UnsignedFieldsReadBackInRange) {
  Counts c;
  ASSERT_TRUE(FromJson("{\"big\":25,\"small\":7}", c).ok());
  EXPECT_EQ(c.big, 25u);
  EXPECT_EQ(c.small, 7u);
  EXPECT_FALSE(FromJson("{\"big\":-1,\"small\":7}", c).ok());
  EXPECT_FALSE(FromJson("{\"big\":1,\"small\":4294967296}", c).ok());
}

}  // namespace
}  // namespace custos::core
