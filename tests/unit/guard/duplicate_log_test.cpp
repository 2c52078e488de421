#include "guard/duplicate_log.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cctype>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "guard/statement_text.hpp"

using namespace uniqguard::guard;
using uniqguard::config::Protocol;
namespace json = boost::json;

namespace {

std::chrono::system_clock::time_point fixed_time() {
    using namespace std::chrono;
    // 789 µs past the millisecond: the line shows milliseconds, rounded down.
    return sys_days{year{2026} / 11 / 26} + hours{1} + minutes{2} + seconds{3} + milliseconds{456} +
           microseconds{789};
}

DuplicateRecord sample_record() {
    DuplicateRecord r;
    r.time = fixed_time();
    r.guard = "courses_enroll_user_id_course_id_uniq";
    r.table = "public.courses_enroll";
    r.columns = {"user_id", "course_id"};
    r.values = {"2", "1"};
    r.action = DuplicateAction::rejected;
    r.client = "127.0.0.1:5555";
    r.user = "app";
    r.database = "appdb";
    r.application_name = "django";
    r.in_transaction = true;
    r.statement = "INSERT INTO courses_enroll (user_id, course_id) VALUES (2, 1)";
    r.protocol = Protocol::postgres;
    return r;
}

json::object parse_line(const std::string& line) {
    REQUIRE(!line.empty());
    REQUIRE(line.back() == '\n');
    REQUIRE(line.find('\n') == line.size() - 1);
    json::error_code ec;
    json::value v = json::parse(line, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    return v.as_object();
}

std::string str(const json::value& v) { return std::string(v.as_string()); }

std::string fp(std::string_view normalized) {
    return fingerprint_hex(statement_fingerprint(normalized));
}

std::filesystem::path temp_path(const std::string& name) {
    return std::filesystem::temp_directory_path() /
           ("uniqguard_duplicate_log_" + std::to_string(::getpid()) + "_" + name);
}

std::vector<std::string> read_lines(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l + "\n");
    return lines;
}

// Captures what spdlog's default logger says while it lives.
class SpdlogCapture {
  public:
    SpdlogCapture() : previous_(spdlog::default_logger()) {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
        auto logger = std::make_shared<spdlog::logger>("capture", sink);
        logger->set_pattern("%l %v");
        spdlog::set_default_logger(logger);
    }
    ~SpdlogCapture() { spdlog::set_default_logger(previous_); }
    std::string text() {
        spdlog::default_logger()->flush();
        return out_.str();
    }

  private:
    std::ostringstream out_;
    std::shared_ptr<spdlog::logger> previous_;
};

// A sink whose write() waits until the test opens the gate: the writer thread stays busy with
// its first line, so the queue fills deterministically.
class GateSink final : public DuplicateLogSink {
  public:
    explicit GateSink(std::vector<std::string>& lines) : lines_(lines) {}
    std::error_code write(std::string_view line) override {
        std::unique_lock lock(state_->mutex);
        state_->cv.wait(lock, [&] { return state_->open; });
        lines_.emplace_back(line);
        return {};
    }
    std::error_code flush() override { return {}; }
    std::error_code reopen() override { return {}; }
    std::string describe() const override { return "gate"; }
    void open() {
        {
            std::lock_guard lock(state_->mutex);
            state_->open = true;
        }
        state_->cv.notify_all();
    }

  private:
    struct State {
        std::mutex mutex;
        std::condition_variable cv;
        bool open = false;
    };
    std::shared_ptr<State> state_ = std::make_shared<State>();
    std::vector<std::string>& lines_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// The line

TEST_CASE("LineOfAKnownRecordIsExact", "[duplicate_log]") {
    const DuplicateRecord r = sample_record();
    const std::string line = format_duplicate_line(r, {});
    const std::string normalized = "INSERT INTO courses_enroll (user_id, course_id) VALUES (?, ?)";
    CHECK(normalize_statement_text(r.statement) == normalized);
    // XXH3_64bits of `normalized`, computed once and kept: a change of hash or of normalisation
    // shows here.
    CHECK(fp(normalized) == "349c572d47de4a2f");
    CHECK(
        line ==
        R"j({"time":"2026-11-26T01:02:03.456Z","guard":"courses_enroll_user_id_course_id_uniq",)j"
        R"j("table":"public.courses_enroll","columns":["user_id","course_id"],"values":["2","1"],)j"
        R"j("action":"rejected","client":"127.0.0.1:5555","user":"app","database":"appdb",)j"
        R"j("application_name":"django","in_transaction":true,)j"
        R"j("statement":"INSERT INTO courses_enroll (user_id, course_id) VALUES (2, 1)",)j"
        R"j("truncated":false,"statement_fingerprint":"349c572d47de4a2f","protocol":"postgres"})j"
        "\n");
}

TEST_CASE("LineParsesBackToEveryField", "[duplicate_log]") {
    DuplicateRecord r = sample_record();
    r.action = DuplicateAction::ignored;
    r.in_transaction = false;
    r.protocol = Protocol::mysql;
    r.client = "[::1]:40000";
    r.statement = "INSERT INTO `courses_enroll` VALUES (2, 1)";
    const json::object o = parse_line(format_duplicate_line(r, {}));
    CHECK(o.size() == 15);
    CHECK(str(o.at("time")) == "2026-11-26T01:02:03.456Z");
    CHECK(str(o.at("guard")) == "courses_enroll_user_id_course_id_uniq");
    CHECK(str(o.at("table")) == "public.courses_enroll");
    CHECK(o.at("columns") == json::array{"user_id", "course_id"});
    CHECK(o.at("values") == json::array{"2", "1"});
    CHECK(str(o.at("action")) == "ignored");
    CHECK(str(o.at("client")) == "[::1]:40000");
    CHECK(str(o.at("user")) == "app");
    CHECK(str(o.at("database")) == "appdb");
    CHECK(str(o.at("application_name")) == "django");
    CHECK(o.at("in_transaction") == false);
    CHECK(str(o.at("statement")) == "INSERT INTO `courses_enroll` VALUES (2, 1)");
    CHECK(o.at("truncated") == false);
    CHECK(str(o.at("statement_fingerprint")) == fp("INSERT INTO `courses_enroll` VALUES (?, ?)"));
    CHECK(str(o.at("protocol")) == "mysql");
    CHECK_FALSE(o.contains("values_hmac"));
}

TEST_CASE("EveryActionHasItsName", "[duplicate_log]") {
    CHECK(to_string(DuplicateAction::rejected) == "rejected");
    CHECK(to_string(DuplicateAction::ignored) == "ignored");
    CHECK(to_string(DuplicateAction::logged) == "logged");
    CHECK(to_string(DuplicateAction::forwarded_unready) == "forwarded_unready");
    DuplicateRecord r = sample_record();
    r.action = DuplicateAction::forwarded_unready;
    CHECK(str(parse_line(format_duplicate_line(r, {})).at("action")) == "forwarded_unready");
}

TEST_CASE("TimeIsUtcWithMilliseconds", "[duplicate_log]") {
    using namespace std::chrono;
    DuplicateRecord r = sample_record();
    r.time = system_clock::time_point{};  // the epoch: zero-padded fields
    CHECK(str(parse_line(format_duplicate_line(r, {})).at("time")) == "1970-01-01T00:00:00.000Z");
    r.time = sys_days{year{2024} / 2 / 29} + hours{23} + minutes{59} + seconds{59} +
             milliseconds{999} + microseconds{999};
    CHECK(str(parse_line(format_duplicate_line(r, {})).at("time")) == "2024-02-29T23:59:59.999Z");
}

TEST_CASE("ValuesAreEscapedAsJson", "[duplicate_log]") {
    DuplicateRecord r = sample_record();
    r.values = {std::string("a\"b\\c\nd\te"), std::string("é€😀"), std::string("\x01\x1f", 2)};
    const std::string line = format_duplicate_line(r, {});
    CHECK(line.find(R"("values":["a\"b\\c\nd\te","é€😀","\u0001\u001f"])") != std::string::npos);
    const json::object o = parse_line(line);
    const auto& v = o.at("values").as_array();
    CHECK(str(v[0]) == "a\"b\\c\nd\te");
    CHECK(str(v[1]) == "é€😀");
    CHECK(str(v[2]) == std::string("\x01\x1f", 2));
}

TEST_CASE("NullValuesAreJsonNull", "[duplicate_log]") {
    DuplicateRecord r = sample_record();
    r.values = {std::nullopt, std::string(""), std::string("null")};
    const std::string line = format_duplicate_line(r, {});
    CHECK(line.find(R"("values":[null,"","null"])") != std::string::npos);
    const json::object o = parse_line(line);
    const auto& v = o.at("values").as_array();
    CHECK(v[0].is_null());
    CHECK(str(v[1]).empty());
    CHECK(str(v[2]) == "null");
}

TEST_CASE("BytesThatAreNotUtf8BecomeReplacementCharacters", "[duplicate_log]") {
    DuplicateRecord r = sample_record();
    // LATIN1 'é' (0xE9), a lone continuation byte, an overlong '/', a surrogate.
    const std::string bad = "caf\xE9 \x80 \xC0\xAF \xED\xA0\x80";
    r.values = {bad};
    r.statement = bad;
    r.application_name = "app\xFF";
    const json::object o = parse_line(format_duplicate_line(r, {}));
    const std::string fffd = "\xEF\xBF\xBD";
    CHECK(str(o.at("values").as_array()[0]) ==
          "caf" + fffd + " " + fffd + " " + fffd + fffd + " " + fffd + fffd + fffd);
    CHECK(str(o.at("statement")) == str(o.at("values").as_array()[0]));
    CHECK(str(o.at("application_name")) == "app" + fffd);
    CHECK(to_valid_utf8("plain ascii, é, 😀") == "plain ascii, é, 😀");
    CHECK(to_valid_utf8(std::string("a\xF4\x90\x80\x80"
                                    "b")) ==  // past U+10FFFF
          "a" + fffd + fffd + fffd + fffd + "b");
    CHECK(to_valid_utf8("\xE2\x82") == fffd + fffd);  // cut short
}

TEST_CASE("StatementIsCutAtACharacterBoundary", "[duplicate_log]") {
    DuplicateRecord r = sample_record();
    const std::string text = "SELECT 'ééé'";  // é is 2 bytes: bytes 8-9, 10-11, 12-13
    r.statement = text;
    DuplicateLogOptions o;
    o.max_statement_bytes = 11;  // would split the second é
    json::object line = parse_line(format_duplicate_line(r, o));
    CHECK(str(line.at("statement")) == "SELECT 'é");
    CHECK(line.at("truncated") == true);
    o.max_statement_bytes = 12;
    line = parse_line(format_duplicate_line(r, o));
    CHECK(str(line.at("statement")) == "SELECT 'éé");
    o.max_statement_bytes = text.size();
    line = parse_line(format_duplicate_line(r, o));
    CHECK(str(line.at("statement")) == text);
    CHECK(line.at("truncated") == false);
    // The fingerprint is of the whole statement, cut or not.
    CHECK(str(line.at("statement_fingerprint")) == fp("SELECT ?"));
    o.max_statement_bytes = 0;
    line = parse_line(format_duplicate_line(r, o));
    CHECK(str(line.at("statement")).empty());
    CHECK(line.at("truncated") == true);
    CHECK(str(line.at("statement_fingerprint")) == fp("SELECT ?"));
}

TEST_CASE("Utf8PrefixLengthNeverSplitsACharacter", "[duplicate_log]") {
    const std::string s = "a€😀b";  // a: 0, €: 1-3, 😀: 4-7, b: 8
    CHECK(utf8_prefix_length(s, 100) == s.size());
    CHECK(utf8_prefix_length(s, 0) == 0);
    CHECK(utf8_prefix_length(s, 1) == 1);
    CHECK(utf8_prefix_length(s, 2) == 1);
    CHECK(utf8_prefix_length(s, 3) == 1);
    CHECK(utf8_prefix_length(s, 4) == 4);
    CHECK(utf8_prefix_length(s, 5) == 4);
    CHECK(utf8_prefix_length(s, 7) == 4);
    CHECK(utf8_prefix_length(s, 8) == 8);
    // Stray continuation bytes are invalid already: cut where asked.
    CHECK(utf8_prefix_length("ab\x80\x80\x80\x80\x80", 6) == 6);
}

// ---------------------------------------------------------------------------------------------
// log_values = false

TEST_CASE("WithoutLogValuesNoLiteralAppears", "[duplicate_log]") {
    DuplicateRecord r = sample_record();
    r.columns = {"email", "tenant", "code", "flag"};
    r.values = {"secret-42", "98765", std::nullopt, ""};
    r.statement =
        "/* route='/enroll/31337' */ INSERT INTO t (email, tenant, code, flag, note, amount, bits) "
        "VALUES ('secret-42', 98765, NULL, '', E'multi\\nline', -123.5e2, B'1011') "
        "RETURNING id -- 'trailer-7'";
    DuplicateLogOptions o;
    o.log_values = false;
    o.values_key = "k3y!";
    const std::string line = format_duplicate_line(r, o);
    const json::object obj = parse_line(line);
    // Digits could occur in the hex of an HMAC or of the fingerprint by chance: those fields
    // are checked for their exact values below, the rest of the line for every literal.
    json::object rest = obj;
    rest.erase("values");
    rest.erase("statement_fingerprint");
    const std::string rest_text = json::serialize(rest);
    for (const char* literal :
         {"secret", "98765", "multi", "123", "1011", "31337", "trailer", "route"}) {
        INFO(literal);
        CHECK((line.find(literal) == std::string::npos || std::isdigit(literal[0]) != 0));
        CHECK(rest_text.find(literal) == std::string::npos);
    }
    CHECK(str(obj.at("statement")) ==
          "INSERT INTO t (email, tenant, code, flag, note, amount, bits) "
          "VALUES (?, ?, NULL, ?, ?, -?, ?) RETURNING id");
    CHECK(obj.at("truncated") == false);
    CHECK(str(obj.at("values_hmac")) == "sha256");
    // printf %s VALUE | openssl dgst -sha256 -hmac 'k3y!'
    CHECK(obj.at("values") ==
          json::array{"92e95184172699d1c5a96d1f93d17cb8272361a83da9b6d4981995b48099d38a",
                      "b44d569426a917bda22aadc4ff36f26704206290dcac3c4daff457b9183968b3", nullptr,
                      "1df6322418a052c1b78ba06b7a34f633ff9d0f57466fbb9e86dc5b60a0dd17de"});
    // The key order of the line: values_hmac right after values.
    CHECK(line.find(R"(,"values_hmac":"sha256","action":)") != std::string::npos);
    // The fingerprint does not depend on log_values.
    CHECK(obj.at("statement_fingerprint") ==
          parse_line(format_duplicate_line(r, {})).at("statement_fingerprint"));
}

TEST_CASE("HmacMatchesOpenssl", "[duplicate_log]") {
    // printf %s value | openssl dgst -sha256 -hmac key
    CHECK(hmac_sha256_hex("key", "value") ==
          "90fbfcf15e74a36b89dbdb2a721d9aecffdfdddc5c83e27f7592594f71932481");
    // printf %s 'é"x' | openssl dgst -sha256 -hmac key
    CHECK(hmac_sha256_hex("key", "é\"x") ==
          "fd52ab5e443aa794772ec360f6583f281d24b06197c2fcc2e077f1bb88f23434");
    // printf %s 2 | openssl dgst -sha256 -hmac 'k3y!'
    CHECK(hmac_sha256_hex("k3y!", "2") ==
          "cb440772d6be37afd67e5d64e543aaf83bd799ec424ddf3b7f9c0a04c8cf4878");
}

TEST_CASE("WithoutLogValuesOrKeyValuesAreNull", "[duplicate_log]") {
    DuplicateRecord r = sample_record();
    r.values = {"secret-42", std::nullopt};
    r.statement = "INSERT INTO t VALUES ('secret-42', NULL)";
    DuplicateLogOptions o;
    o.log_values = false;
    const std::string line = format_duplicate_line(r, o);
    CHECK(line.find("secret") == std::string::npos);
    const json::object obj = parse_line(line);
    CHECK(obj.at("values").is_null());
    CHECK_FALSE(obj.contains("values_hmac"));
    CHECK(str(obj.at("statement")) == "INSERT INTO t VALUES (?, NULL)");
}

TEST_CASE("NormalisedStatementIsCutToo", "[duplicate_log]") {
    DuplicateRecord r = sample_record();
    r.statement = "INSERT INTO t VALUES ('a long secret value', 'another')";
    DuplicateLogOptions o;
    o.log_values = false;
    o.values_key = "k";
    o.max_statement_bytes = 24;
    const json::object obj = parse_line(format_duplicate_line(r, o));
    CHECK(str(obj.at("statement")) == "INSERT INTO t VALUES (?,");
    CHECK(obj.at("truncated") == true);
    CHECK(str(obj.at("statement_fingerprint")) == fp("INSERT INTO t VALUES (?, ?)"));
}

TEST_CASE("SameShapeSameFingerprint", "[duplicate_log]") {
    DuplicateRecord a = sample_record();
    DuplicateRecord b = sample_record();
    DuplicateRecord c = sample_record();
    a.statement = "INSERT INTO t (a, b) VALUES (1, 'x') /* trace='1' */";
    b.statement = "INSERT INTO t (a, b) VALUES (2222, 'yy') /* trace='2' */";
    c.statement = "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')";
    const auto fp_of = [](const DuplicateRecord& r) {
        return str(parse_line(format_duplicate_line(r, {})).at("statement_fingerprint"));
    };
    CHECK(fp_of(a) == fp_of(b));
    CHECK(fp_of(a) != fp_of(c));
    CHECK(fp_of(a).size() == 16);
    CHECK(fp_of(a).find_first_not_of("0123456789abcdef") == std::string::npos);
    // A digest computed once by the caller gives the same line.
    const StatementDigest d = statement_digest(a);
    DuplicateRecord with_digest = a;
    with_digest.digest = &d;
    CHECK(format_duplicate_line(with_digest, {}) == format_duplicate_line(a, {}));
}

TEST_CASE("FingerprintIsXxh3", "[duplicate_log]") {
    CHECK(statement_fingerprint("") == 0x2D06800538D394C2ull);  // XXH3_64bits of no bytes
    CHECK(fingerprint_hex(0x2D06800538D394C2ull) == "2d06800538d394c2");
    CHECK(fingerprint_hex(0x1) == "0000000000000001");
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL normalisation

TEST_CASE("PostgresLiteralsBecomePlaceholders", "[duplicate_log]") {
    struct Case {
        std::string_view sql;
        std::string_view normalized;
    };
    const Case cases[] = {
        {"SELECT 'a', 'it''s', E'x\\'y\\n', U&'d\\0061t\\+000061'", "SELECT ?, ?, ?, ?"},
        {"SELECT U&'d!0061t' UESCAPE '!' , 1", "SELECT ? , ?"},
        {"SELECT $$a 'b' $c$$, $tag$x$$y$tag$, $1", "SELECT ?, ?, $1"},
        {"SELECT B'1011', X'1F', b'0', x'ff'", "SELECT ?, ?, ?, ?"},
        {"SELECT 1, 1.5, .5, 1e3, 2.5E-3, 99999999999", "SELECT ?, ?, ?, ?, ?, ?"},
        {"SELECT -5, +5, a-1, 3 - -2, a=-1", "SELECT -?, +?, a-?, ? - -?, a=-?"},
        {"SELECT col1, t2.c3, \"x'1'\", _a$1 FROM tab1",
         "SELECT col1, t2.c3, \"x'1'\", _a$1 FROM tab1"},
        {"SELECT 'a'\n'b', N'x', 'x'::text, interval '1 day', true, NULL, DEFAULT",
         "SELECT ?, N?, ?::text, interval ?, true, NULL, DEFAULT"},
        {"SELECT data ? 'k', a[1:2]", "SELECT data ? ?, a[?:?]"},
        {"INSERT INTO t VALUES ($1, $2)", "INSERT INTO t VALUES ($1, $2)"},
        {"", ""},
        {"  SELECT 1;\n", "  SELECT ?;\n"},
    };
    for (const auto& c : cases) {
        INFO(c.sql);
        CHECK(normalize_statement_text(c.sql) == c.normalized);
    }
}

TEST_CASE("PostgresCommentsAreDropped", "[duplicate_log]") {
    CHECK(normalize_statement_text("SELECT 1 -- 'x' = 42\nFROM t") == "SELECT ? \nFROM t");
    CHECK(normalize_statement_text("SELECT a/* 42 */,b") == "SELECT a ,b");
    CHECK(normalize_statement_text("SELECT a/**/b") == "SELECT a b");
    CHECK(normalize_statement_text("SELECT a /* x /* nested 7 */ y */ b") == "SELECT a  b");
    CHECK(normalize_statement_text("/* route='/x/9' */ INSERT INTO t VALUES (1)") ==
          "INSERT INTO t VALUES (?)");
    CHECK(normalize_statement_text("INSERT INTO t VALUES (1) /*traceparent='00-ab'*/") ==
          "INSERT INTO t VALUES (?)");
    CHECK(normalize_statement_text("SELECT 1 -- 5") == "SELECT ?");
}

TEST_CASE("PostgresUnreadableTextEndsInAnEllipsis", "[duplicate_log]") {
    CHECK(normalize_statement_text("INSERT INTO t VALUES (1, 'unterminated secret") ==
          "INSERT INTO t VALUES (?, …");
    CHECK(normalize_statement_text("SELECT $$never closed 42") == "SELECT …");
    CHECK(normalize_statement_text("SELECT 1 /* never closed 42") == "SELECT ? …");
    CHECK(normalize_statement_text("SELECT \"never closed 42") == "SELECT …");
    CHECK(normalize_statement_text("SELECT 12abc, 'secret'") == "SELECT …");
    CHECK(normalize_statement_text("'secret") == "…");
}

TEST_CASE("PostgresStringsFollowStandardConformingStrings", "[duplicate_log]") {
    // With standard_conforming_strings = off, \' does not end the string: read with the wrong
    // setting, ` s secret` would be shown as SQL.
    const std::string_view sql = R"(SELECT 'it\'s secret', 7)";
    CHECK(normalize_statement_text(sql, {.standard_conforming_strings = false}) == "SELECT ?, ?");
    CHECK(normalize_statement_text(sql, {.standard_conforming_strings = true}) ==
          "SELECT ?s secret …");
    DuplicateRecord r = sample_record();
    r.statement = sql;
    r.standard_conforming_strings = false;
    DuplicateLogOptions o;
    o.log_values = false;
    o.values_key = "k";
    CHECK(str(parse_line(format_duplicate_line(r, o)).at("statement")) == "SELECT ?, ?");
}

// ---------------------------------------------------------------------------------------------
// MySQL normalisation

TEST_CASE("MysqlLiteralsBecomePlaceholders", "[duplicate_log]") {
    struct Case {
        std::string_view sql;
        std::string_view normalized;
    };
    const Case cases[] = {
        {"INSERT INTO `t` (`a`, b) VALUES ('x', \"y\"), ('it''s', 'a\\'b')",
         "INSERT INTO `t` (`a`, b) VALUES (?, ?), (?, ?)"},
        {"SELECT 1, -1.5, .5, 1e3, 1.5e-3, 0x1F, 0b01, x'1F', B'01', col1, t2.c3",
         "SELECT ?, -?, ?, ?, ?, ?, ?, ?, ?, col1, t2.c3"},
        {"SELECT _utf8mb4'abc', N'x', @v := 3, @@session.sql_mode, ?",
         "SELECT _utf8mb4?, N?, @v := ?, @@session.sql_mode, ?"},
        {"INSERT /*!IGNORE*/ INTO t VALUES (1) /*!50000 ON DUPLICATE KEY UPDATE a = 'v' */",
         "INSERT /*!IGNORE*/ INTO t VALUES (?) /*!50000 ON DUPLICATE KEY UPDATE a = ? */"},
        {"SELECT /*M!100100 'x', */ 1", "SELECT /*M!100100 ?, */ ?"},
        {"SELECT 1 # 42\n, 2 -- 43\n, 3--4", "SELECT ? \n, ? \n, ?--?"},
        {"SELECT a/* 42 */b, `x``y`, 1abc", "SELECT a b, `x``y`, ?"},
        {"/* trace='1' */ SELECT 1 -- end", "SELECT ?"},
    };
    for (const auto& c : cases) {
        INFO(c.sql);
        CHECK(normalize_mysql_statement_text(c.sql) == c.normalized);
    }
}

TEST_CASE("MysqlBackslashEscapesFollowTheSqlMode", "[duplicate_log]") {
    const std::string_view sql = R"(SELECT 'C:\', 'y')";
    // Default: \' is a quote, the string runs on, and the last quote never closes.
    CHECK(normalize_mysql_statement_text(sql) == "SELECT ?y …");
    CHECK(normalize_mysql_statement_text(sql, true) == "SELECT ?, ?");
    CHECK(normalize_mysql_statement_text("SELECT 'unterminated 42") == "SELECT …");
    CHECK(normalize_mysql_statement_text("SELECT `unterminated") == "SELECT …");
    CHECK(normalize_mysql_statement_text("SELECT 1 /* 42") == "SELECT ? …");
}

TEST_CASE("MysqlRecordsUseTheMysqlScanner", "[duplicate_log]") {
    DuplicateRecord r = sample_record();
    r.protocol = Protocol::mysql;
    r.statement = "INSERT INTO t VALUES (\"secret\", 'x\\'y') # trailer-99";
    DuplicateLogOptions o;
    o.log_values = false;
    o.values_key = "k";
    const std::string line = format_duplicate_line(r, o);
    CHECK(line.find("secret") == std::string::npos);
    CHECK(line.find("trailer") == std::string::npos);
    CHECK(str(parse_line(line).at("statement")) == "INSERT INTO t VALUES (?, ?)");
}

// ---------------------------------------------------------------------------------------------
// Generated statements: whatever the mix, no literal survives

namespace {

// Statements of random pieces, separated by whitespace; every literal or comment piece holds
// "secret", "0111" or 7777, and none of the others does. An unterminated piece can only come
// last: in the middle it would pair with the next quote and turn what follows into SQL, as on the
// server.
std::string random_statement(std::mt19937& rng, const std::vector<std::string_view>& pieces,
                             const std::vector<std::string_view>& unterminated) {
    std::string sql;
    const int n = std::uniform_int_distribution<int>(1, 30)(rng);
    for (int i = 0; i < n; ++i) {
        sql += pieces[std::uniform_int_distribution<std::size_t>(0, pieces.size() - 1)(rng)];
        sql += std::uniform_int_distribution<int>(0, 3)(rng) == 0 ? "\n" : " ";
    }
    if (std::uniform_int_distribution<int>(0, 2)(rng) == 0) {
        sql += unterminated[std::uniform_int_distribution<std::size_t>(
            0, unterminated.size() - 1)(rng)];
    }
    return sql;
}

}  // namespace

TEST_CASE("GeneratedPostgresStatementsShowNoLiteral", "[duplicate_log]") {
    const std::vector<std::string_view> pieces = {"'se''cret'",
                                                  "E'sec\\'ret'",
                                                  "U&'secret'",
                                                  "$$secret$$",
                                                  "$q$sec$$ret$q$",
                                                  "B'0111'",
                                                  "X'7777'",
                                                  "7777",
                                                  "77.77e7",
                                                  ".7777",
                                                  "/* secret /* 7777 */ */",
                                                  "-- secret\n",
                                                  "col1",
                                                  "(",
                                                  ",",
                                                  "-",
                                                  "\"ident\"",
                                                  "$1",
                                                  "::int",
                                                  "INSERT",
                                                  "'secret' \n 'secret'"};
    const std::vector<std::string_view> unterminated = {"'unterminated secret", "/* 7777",
                                                        "$$secret", "E'secret\\'", "\"secret"};
    std::mt19937 rng(42);
    for (int i = 0; i < 2000; ++i) {
        const std::string sql = random_statement(rng, pieces, unterminated);
        const std::string out = normalize_statement_text(sql);
        INFO(sql);
        CHECK(out.find("secret") == std::string::npos);
        CHECK(out.find("ret") == std::string::npos);
        CHECK(out.find("7777") == std::string::npos);
        CHECK(out.find("0111") == std::string::npos);
    }
}

TEST_CASE("GeneratedMysqlStatementsShowNoLiteral", "[duplicate_log]") {
    const std::vector<std::string_view> pieces = {"'se''cret'",
                                                  "'sec\\'ret'",
                                                  "\"secret\"",
                                                  "x'7777'",
                                                  "b'0111'",
                                                  "0x7777",
                                                  "7777",
                                                  "77.77e7",
                                                  ".7777",
                                                  "/* secret 7777 */",
                                                  "-- secret\n",
                                                  "# secret\n",
                                                  "col1",
                                                  "`id``x`",
                                                  "(",
                                                  ",",
                                                  "-",
                                                  "?",
                                                  "_utf8mb4'secret'",
                                                  "/*!50000 'secret' */"};
    const std::vector<std::string_view> unterminated = {"'unterminated secret", "/* 7777",
                                                        "'secret\\'", "`secret", "x'7777"};
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
        const std::string sql = random_statement(rng, pieces, unterminated);
        const std::string out = normalize_mysql_statement_text(sql);
        INFO(sql);
        CHECK(out.find("secret") == std::string::npos);
        CHECK(out.find("ret") == std::string::npos);
        CHECK(out.find("7777") == std::string::npos);
        CHECK(out.find("0111") == std::string::npos);
    }
}

TEST_CASE("RandomBytesNormaliseWithoutHarm", "[duplicate_log]") {
    std::mt19937 rng(1);
    std::uniform_int_distribution<int> byte(0, 255);
    for (int i = 0; i < 2000; ++i) {
        std::string s(std::uniform_int_distribution<std::size_t>(0, 64)(rng), '\0');
        for (auto& c : s) c = static_cast<char>(byte(rng));
        (void)normalize_statement_text(s);
        (void)normalize_mysql_statement_text(s);
        const std::string valid = to_valid_utf8(s);
        json::error_code ec;
        (void)json::parse(json::serialize(json::value(json::string(valid))), ec);
        CHECK_FALSE(ec);
        CHECK(utf8_prefix_length(s, 10) <= 10);
    }
}

// ---------------------------------------------------------------------------------------------
// DuplicateLog

TEST_CASE("EightThreadsWriteEveryLine", "[duplicate_log]") {
    const auto path = temp_path("threads.jsonl");
    std::filesystem::remove(path);
    {
        auto opened = DuplicateLog::open(path.string(), {});
        REQUIRE(opened);
        DuplicateLog& log = *opened.log;
        std::atomic<int> refused{0};  // Catch2's assertions are not thread-safe: count instead
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t) {
            threads.emplace_back([&log, &refused, t] {
                for (int i = 0; i < 1000; ++i) {
                    DuplicateRecord r = sample_record();
                    r.values = {std::to_string(t), std::to_string(i)};
                    if (!log.write(r)) ++refused;
                }
            });
        }
        for (auto& th : threads) th.join();
        CHECK(refused == 0);
        log.flush();
        CHECK(log.written() == 8000);
        CHECK(log.dropped() == 0);
        CHECK(log.failed() == 0);
        const auto lines = read_lines(path);
        REQUIRE(lines.size() == 8000);
        std::set<std::pair<std::string, std::string>> seen;
        for (const auto& l : lines) {
            const json::object o = parse_line(l);
            const auto& v = o.at("values").as_array();
            seen.emplace(str(v[0]), str(v[1]));
        }
        CHECK(seen.size() == 8000);
    }
    std::filesystem::remove(path);
}

TEST_CASE("AFullQueueDropsAndTheNextLineWarns", "[duplicate_log]") {
    SpdlogCapture capture;
    std::vector<std::string> lines;
    auto sink = std::make_unique<GateSink>(lines);
    GateSink& gate = *sink;
    const DuplicateRecord r = sample_record();
    const std::size_t size = format_duplicate_line(r, {}).size();
    DuplicateLogOptions o;
    o.max_queue_bytes = 3 * size;  // three lines, the one being written included
    {
        DuplicateLog log(std::move(sink), o);
        int accepted = 0;
        for (int i = 0; i < 10; ++i) accepted += log.write(r) ? 1 : 0;
        CHECK(accepted == 3);
        CHECK(log.dropped() == 7);
        gate.open();
        log.flush();
        CHECK(log.written() == 3);
        CHECK(capture.text().find("dropped") == std::string::npos);
        CHECK(log.write(r));
        log.flush();
        CHECK(log.written() == 4);
        CHECK(log.dropped() == 7);
        CHECK(capture.text() == "warning duplicate log: 7 lines dropped: its queue was full (" +
                                    std::to_string(3 * size) +
                                    " bytes); the target is slower than duplicates arrive\n");
    }
    CHECK(lines.size() == 4);
}

TEST_CASE("DropsNotYetReportedAreReportedAtShutdown", "[duplicate_log]") {
    SpdlogCapture capture;
    std::vector<std::string> lines;
    auto sink = std::make_unique<GateSink>(lines);
    GateSink& gate = *sink;
    DuplicateLogOptions o;
    o.max_queue_bytes = 1;  // smaller than a line: one line at a time, alone
    {
        DuplicateLog log(std::move(sink), o);
        CHECK(log.write(sample_record()));
        CHECK_FALSE(log.write(sample_record()));
        CHECK_FALSE(log.write(sample_record()));
        gate.open();
    }
    CHECK(lines.size() == 1);
    CHECK(capture.text().find("2 lines dropped before shutdown") != std::string::npos);
}

TEST_CASE("TinyQueueCountsAddUp", "[duplicate_log]") {
    const auto path = temp_path("tiny.jsonl");
    std::filesystem::remove(path);
    SpdlogCapture capture;  // the drop warnings
    {
        DuplicateLogOptions o;
        o.max_queue_bytes = 1;
        auto opened = DuplicateLog::open(path.string(), o);
        REQUIRE(opened);
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&] {
                for (int i = 0; i < 500; ++i) opened.log->write(sample_record());
            });
        }
        for (auto& th : threads) th.join();
        opened.log->flush();
        CHECK(opened.log->written() + opened.log->dropped() == 2000);
        CHECK(read_lines(path).size() == opened.log->written());
    }
    std::filesystem::remove(path);
}

TEST_CASE("FileIsAppendedToAndReopened", "[duplicate_log]") {
    const auto path = temp_path("reopen.jsonl");
    const auto rotated = temp_path("reopen.jsonl.1");
    std::filesystem::remove(path);
    std::filesystem::remove(rotated);
    {
        std::ofstream(path) << "existing\n";
        auto opened = DuplicateLog::open(path.string(), {});
        REQUIRE(opened);
        opened.log->write(sample_record());
        opened.log->flush();
        std::filesystem::rename(path, rotated);  // logrotate
        opened.log->write(sample_record());
        opened.log->flush();  // still the old file, until reopened
        opened.log->reopen();
        opened.log->flush();
        CHECK(std::filesystem::exists(path));
        opened.log->write(sample_record());
        opened.log->flush();
        CHECK(read_lines(rotated).size() == 3);
        CHECK(read_lines(rotated)[0] == "existing\n");
        CHECK(read_lines(path).size() == 1);
        CHECK(opened.log->written() == 3);
    }
    std::filesystem::remove(path);
    std::filesystem::remove(rotated);
}

TEST_CASE("AFileThatCannotBeOpenedIsAnErrorValue", "[duplicate_log]") {
    const std::string path = "/nonexistent-dir-uniqguard/dup.jsonl";
    auto opened = DuplicateLog::open(path, {});
    CHECK_FALSE(opened);
    CHECK(opened.error == "cannot open duplicate log " + path + ": No such file or directory");
    auto dir = DuplicateLog::open(std::filesystem::temp_directory_path().string(), {});
    CHECK_FALSE(dir);
    CHECK(dir.error.find("Is a directory") != std::string::npos);
}

TEST_CASE("StdoutAndStderrAreTargets", "[duplicate_log]") {
    std::string error;
    auto out = open_duplicate_log_sink("stdout", error);
    REQUIRE(out);
    CHECK(out->describe() == "stdout");
    CHECK_FALSE(out->reopen());
    auto err = open_duplicate_log_sink("stderr", error);
    REQUIRE(err);
    CHECK(err->describe() == "stderr");
    CHECK(error.empty());
    // flush() with nothing queued returns at once.
    DuplicateLog log(std::move(out), {});
    log.flush();
    CHECK(log.written() == 0);
}
