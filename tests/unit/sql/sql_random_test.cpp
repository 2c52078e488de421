// Seeded random checks: (1) for statements that differ only in literal values, the cached
// analysis re-read positionally equals a fresh parse; (2) mangled text never crashes the parser,
// the lexer or the shape, and every range of a successful parse lies inside the text.
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "sql/literal_shape.hpp"
#include "sql/postgres_parser.hpp"

using namespace uniqguard::sql;

namespace {

class LiteralMaker {
  public:
    explicit LiteralMaker(unsigned seed) : rng_(seed) {}

    std::string integer() { return std::to_string(pick(0, 2147483647) >> pick(0, 30)); }

    std::string numeric() {
        switch (pick(0, 3)) {
            case 0:
                return std::to_string(pick(0, 99999)) + "." + std::to_string(pick(0, 999));
            case 1:
                return "." + std::to_string(pick(0, 99));
            case 2:
                return std::to_string(pick(1, 9)) + (pick(0, 1) ? "e" : "E-") +
                       std::to_string(pick(0, 30));
            default:
                return std::to_string(pick(3, 9)) + "000000000" + std::to_string(pick(0, 9));
        }
    }

    // A string literal in a random spelling; `content` receives what the server reads.
    std::string string(std::string& content) {
        static const std::vector<std::string> alphabet = {"a",  "Z", "0",        " ",  "'", "\\",
                                                          "\"", "$", "\xc3\xa9", "\n", "%", "_"};
        content.clear();
        const int len = pick(0, 8);
        std::vector<std::string> chars;
        for (int i = 0; i < len; ++i) chars.push_back(alphabet[pick(0, alphabet.size() - 1)]);
        for (const auto& c : chars) content += c;
        switch (pick(0, 4)) {
            case 0: {  // plain, '' doubled
                std::string out = "'";
                for (const auto& c : chars) out += c == "'" ? "''" : c;
                return out + "'";
            }
            case 1: {  // E'' with escapes
                std::string out = "E'";
                for (const auto& c : chars) {
                    if (c == "'")
                        out += pick(0, 1) ? "\\'" : "''";
                    else if (c == "\\")
                        out += "\\\\";
                    else if (c == "\n")
                        out += "\\n";
                    else if (c == "\xc3\xa9")
                        out += pick(0, 1) ? "\\u00e9" : "\\xc3\\xa9";
                    else if (c == "a")
                        out += "\\141";
                    else
                        out += c;
                }
                return out + "'";
            }
            case 2: {  // dollar quoted
                const std::string tag = content.find('$') == std::string::npos ? "$$" : "$q_1$";
                if (content.find(tag) != std::string::npos) return string(content);
                return tag + content + tag;
            }
            case 3: {  // U&'' with escapes
                std::string out = "U&'";
                for (const auto& c : chars) {
                    if (c == "'")
                        out += "''";
                    else if (c == "\\")
                        out += "\\\\";
                    else if (c == "\xc3\xa9")
                        out += pick(0, 1) ? "\\00E9" : "\\+0000e9";
                    else
                        out += c;
                }
                return out + "'";
            }
            default: {  // continued on the next line
                std::string a = "'", b = "'";
                for (std::size_t i = 0; i < chars.size(); ++i) {
                    std::string& part = i < chars.size() / 2 ? a : b;
                    part += chars[i] == "'" ? "''" : chars[i];
                }
                return a + "'\n  \n" + b + "'";
            }
        }
    }

    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    int pick(int lo, std::size_t hi) { return pick(lo, static_cast<int>(hi)); }
    std::mt19937& rng() { return rng_; }

  private:
    std::mt19937 rng_;
};

// Replaces {I}, {N} and {S} in `tmpl` by fresh literals.
std::string instantiate(const std::string& tmpl, LiteralMaker& m,
                        std::vector<std::string>& strings) {
    std::string out;
    strings.clear();
    for (std::size_t i = 0; i < tmpl.size(); ++i) {
        if (tmpl.compare(i, 3, "{I}") == 0) {
            out += m.integer();
            i += 2;
        } else if (tmpl.compare(i, 3, "{N}") == 0) {
            out += m.numeric();
            i += 2;
        } else if (tmpl.compare(i, 3, "{S}") == 0) {
            std::string content;
            out += m.string(content);
            strings.push_back(content);
            i += 2;
        } else {
            out.push_back(tmpl[i]);
        }
    }
    return out;
}

void check_ranges_inside(const std::vector<Statement>& statements, std::size_t size) {
    const auto inside = [size](const SourceRange& r) { return !r.known() || r.end() <= size; };
    for (const Statement& s : statements) {
        CHECK(inside(s.range));
        CHECK(inside(s.trimmed));
        if (const auto* ins = s.get<InsertStatement>()) {
            for (const auto& row : ins->rows) {
                for (const Value& v : row) {
                    CHECK(inside(v.range));
                    CHECK(inside(v.literal));
                }
            }
            CHECK(inside(ins->returning_list));
        }
        if (const auto* up = s.get<UpdateStatement>()) {
            for (const Assignment& a : up->assignments) CHECK(inside(a.value.range));
            CHECK(inside(up->where));
        }
    }
}

}  // namespace

TEST_CASE("RandomLiteralsRebindExactlyAsTheyParse", "[sql]") {
    const std::vector<std::string> templates = {
        "INSERT INTO t (a, b, c) VALUES ({I}, {S}, {N})",
        "INSERT INTO s.\"T\" VALUES ({S}::text, -{I}, CAST({S} AS uuid), int {S}), ({I}, {S}, "
        "now(), "
        "- -{N}) RETURNING *",
        "UPDATE t SET a = {S}, b = {I} WHERE id = {I} AND n = {S} RETURNING id",
        "UPDATE t SET (a, b) = ({S}, -{N}), c = lower({S}) WHERE x = {S}",
        "DELETE FROM t WHERE a = {I};\nINSERT INTO t (a) VALUES ({S}) ON CONFLICT (a) DO UPDATE "
        "SET "
        "b = {S}",
        "SET search_path = {S}, public",
    };
    LiteralMaker maker(20240601);
    std::vector<std::string> strings_a, strings_b;
    int rebound = 0;
    for (int iteration = 0; iteration < 400; ++iteration) {
        const std::string& tmpl = templates[iteration % templates.size()];
        const std::string a = instantiate(tmpl, maker, strings_a);
        const std::string b = instantiate(tmpl, maker, strings_b);
        INFO("a: " << a);
        INFO("b: " << b);
        const ParseResult pa = parse_postgres(a);
        const ParseResult pb = parse_postgres(b);
        REQUIRE(pa);
        REQUIRE(pb);
        const LiteralShape sa = literal_shape(a);
        const LiteralShape sb = literal_shape(b);
        REQUIRE(sa.key == sb.key);
        const auto r = rebind_literals(pa.statements, sa, b, sb);
        REQUIRE(r.has_value());
        CHECK(*r == pb.statements);
        ++rebound;
        // The strings as generated are the strings the server reads.
        std::vector<std::string> read;
        for (const Statement& s : pb.statements) {
            if (const auto* ins = s.get<InsertStatement>()) {
                for (const auto& row : ins->rows)
                    for (const Value& v : row)
                        if (v.kind == ValueKind::literal_string) read.push_back(v.text);
                for (const Assignment& x : ins->on_conflict.assignments)
                    if (x.value.kind == ValueKind::literal_string) read.push_back(x.value.text);
            }
        }
        if (tmpl.rfind("INSERT INTO t (a, b, c)", 0) == 0) CHECK(read == strings_b);
    }
    CHECK(rebound == 400);
}

TEST_CASE("MangledTextNeverCrashesAndRangesStayInside", "[sql]") {
    const std::vector<std::string> corpus = {
        "INSERT INTO t (a, b) VALUES (1, 'x'), ($1, E'y\\'z') ON CONFLICT (a) DO NOTHING RETURNING "
        "*",
        "UPDATE t SET (a, b) = (1, 2), c = $$x$$ WHERE id = 5 RETURNING id",
        "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x; DELETE FROM t WHERE a = U&'\\0041'",
        "COPY t (a) FROM STDIN (FORMAT csv); SET search_path = a, 'b'; BEGIN; SAVEPOINT s",
    };
    std::mt19937 rng(7);
    const std::string noise = "'\"$();,-/*\\\n eE&U0:[]";
    std::vector<Token> tokens;
    for (int iteration = 0; iteration < 3000; ++iteration) {
        std::string sql = corpus[iteration % corpus.size()];
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits && !sql.empty(); ++e) {
            const std::size_t at = rng() % sql.size();
            switch (rng() % 3) {
                case 0:
                    sql[at] = noise[rng() % noise.size()];
                    break;
                case 1:
                    sql.erase(at, 1 + rng() % 3);
                    break;
                default:
                    sql.insert(at, 1, noise[rng() % noise.size()]);
                    break;
            }
        }
        INFO(sql);
        lex_postgres(sql, tokens);
        for (const Token& t : tokens) CHECK(t.end() <= sql.size());
        const LiteralShape shape = literal_shape(sql);
        const ParseResult r = parse_postgres(sql);
        if (r) {
            check_ranges_inside(r.statements, sql.size());
            // A text that parses is one our lexer reads to the end, and re-reading a text's
            // own literals changes nothing.
            CHECK(shape.ok);
            const auto same = rebind_literals(r.statements, shape, sql, shape);
            if (same) CHECK(*same == r.statements);
        } else {
            CHECK(r.error->offset <= sql.size());
        }
    }
}
