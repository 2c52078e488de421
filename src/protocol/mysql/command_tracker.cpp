#include "protocol/mysql/command_tracker.hpp"

#include "protocol/mysql/capabilities.hpp"
#include "protocol/mysql/packet_reader.hpp"
#include "protocol/mysql/wire.hpp"

namespace uniqguard::protocol::mysql {

namespace {
constexpr std::uint8_t ok_header = 0x00;
constexpr std::uint8_t more_data_header = 0x01;
constexpr std::uint8_t local_infile_header = 0xFB;
constexpr std::uint8_t eof_header = 0xFE;
constexpr std::uint8_t err_header = 0xFF;
constexpr std::uint16_t progress_report_code = 0xFFFF;
// An EOF packet is 0xFE, warnings and status (and nothing else): under 9 bytes, which tells it
// from a row starting with an 8-byte length.
constexpr std::uint32_t eof_packet_limit = 9;

bool is_progress_report(util::Bytes h) {
    return h.size() >= 3 && h[0] == err_header && read_u16_le(h.data() + 1) == progress_report_code;
}
}  // namespace

CommandTracker::CommandTracker(std::uint64_t capabilities)
    : deprecate_eof_((capabilities & capability::deprecate_eof) != 0) {}

void CommandTracker::pop_front() {
    // Usually the only element: a vector keeps its one allocation for the next command, where
    // a deque would hold a 512-byte node in every idle session.
    pending_.erase(pending_.begin());
    ++answered_;
}

bool CommandTracker::client_owes_packets() const {
    return !pending_.empty() && (pending_.front().phase == Phase::file_upload ||
                                 pending_.front().phase == Phase::auth_answer);
}

ClientPacketRole CommandTracker::on_client_packet(util::Bytes payload) {
    if (!pending_.empty()) {
        Pending& front = pending_.front();
        if (front.phase == Phase::file_upload) {
            if (payload.empty()) front.phase = Phase::file_result;  // end of the file
            return ClientPacketRole::file_data;
        }
        if (front.phase == Phase::auth_answer) {
            front.phase = Phase::authentication;
            return ClientPacketRole::auth_answer;
        }
    }
    const auto command = payload.empty() ? Command::sleep : static_cast<Command>(payload[0]);
    const auto argument = payload.empty() ? util::Bytes{} : payload.subspan(1);
    Pending p{.command = command, .phase = Phase::single};
    switch (command) {
        case Command::quit:
        case Command::stmt_close:
        case Command::stmt_send_long_data:
            return ClientPacketRole::command_no_reply;
        case Command::query:
            p.phase = Phase::first;
            if (auto db = parse_use_statement(util::as_chars(argument))) p.database_on_ok = *db;
            break;
        case Command::init_db:
            p.database_on_ok = std::string(util::as_chars(argument));
            break;
        case Command::stmt_prepare:
        case Command::stmt_execute:
        case Command::process_info:
            p.phase = Phase::first;
            break;
        case Command::stmt_fetch:
            p.phase = Phase::rows;
            break;
        case Command::field_list:
            p.phase = Phase::field_list;
            break;
        case Command::change_user: {
            // user NUL, auth-response length and bytes, database NUL, ...
            PayloadCursor in(argument);
            in.null_terminated();
            in.skip(in.u8());
            auto db = in.null_terminated();
            p.database_on_ok = in.ok() ? std::string(db) : std::string();
            p.phase = Phase::authentication;
            break;
        }
        case Command::binlog_dump:
        case Command::binlog_dump_gtid:
            p.phase = Phase::endless;
            break;
        default:
            break;  // one packet: OK, ERR, EOF or a string (COM_STATISTICS)
    }
    pending_.push_back(std::move(p));
    ++sent_;
    return ClientPacketRole::command;
}

bool CommandTracker::is_terminator(const ServerPacketHead& packet) const {
    if (packet.head.empty() || packet.head[0] != eof_header) return false;
    return deprecate_eof_ ? packet.first_frame_length < max_frame_payload
                          : packet.first_frame_length < eof_packet_limit;
}

std::uint16_t CommandTracker::read_status(util::Bytes head, bool eof_layout) const {
    PayloadCursor in(head);
    in.skip(1);
    if (eof_layout) {
        in.skip(2);  // warnings
    } else {
        in.lenenc_int();  // affected rows
        in.lenenc_int();  // last insert id
    }
    const std::uint16_t status = in.u16();
    return in.ok() ? status : status_;
}

void CommandTracker::end_result(std::uint16_t status, bool allow_more) {
    status_ = status;
    Pending& front = pending_.front();
    if (allow_more && (status & server_status::more_results_exist)) {
        front.phase = Phase::first;
        return;
    }
    if (front.database_on_ok) database_ = std::move(*front.database_on_ok);
    pop_front();
}

void CommandTracker::after_prepare_ok(Pending& p, util::Bytes head) {
    // 0x00, statement id (4), columns (2), parameters (2), filler, warnings.
    PayloadCursor in(head);
    in.skip(5);
    const std::uint16_t columns = in.u16();
    const std::uint16_t params = in.u16();
    if (!in.ok()) {
        broken_ = true;
        pop_front();
        return;
    }
    if (params > 0) {
        p.phase = Phase::prepare_params;
        p.left = params;
        p.then_columns = columns;
    } else if (columns > 0) {
        p.phase = Phase::prepare_columns;
        p.left = columns;
    } else {
        pop_front();
    }
}

void CommandTracker::on_server_packet(const ServerPacketHead& packet) {
    if (pending_.empty()) return;  // unsolicited (a server closing an idle connection says why)
    const util::Bytes h = packet.head;
    if (is_progress_report(h)) return;
    Pending& p = pending_.front();
    const std::uint8_t b = h.empty() ? 0 : h[0];
    const bool allow_more = p.command == Command::query || p.command == Command::stmt_execute ||
                            p.command == Command::process_info;
    switch (p.phase) {
        case Phase::first:
            if (b == err_header) {
                pop_front();
            } else if (b == ok_header && !h.empty() && p.command == Command::stmt_prepare) {
                after_prepare_ok(p, h);
            } else if (b == ok_header && !h.empty()) {
                end_result(read_status(h, false), allow_more);
            } else if (b == local_infile_header && p.command == Command::query) {
                p.phase = Phase::file_upload;
            } else if (is_terminator(packet)) {
                end_result(read_status(h, !deprecate_eof_), allow_more);
            } else {
                PayloadCursor in(h);
                p.left = in.lenenc_int();
                if (!in.ok() || p.left == 0) {
                    broken_ = true;
                    pop_front();
                    break;
                }
                p.phase = Phase::column_definitions;
            }
            break;
        case Phase::column_definitions:
            if (--p.left == 0) p.phase = deprecate_eof_ ? Phase::rows : Phase::column_eof;
            break;
        case Phase::column_eof: {
            if (b == err_header) {
                pop_front();
                break;
            }
            const std::uint16_t status = read_status(h, true);
            // A cursor was opened (COM_STMT_EXECUTE with a cursor flag): rows come with
            // COM_STMT_FETCH, not now.
            if (p.command == Command::stmt_execute && (status & server_status::cursor_exists)) {
                status_ = status;
                pop_front();
            } else {
                p.phase = Phase::rows;
            }
            break;
        }
        case Phase::rows:
            if (b == err_header)
                pop_front();
            else if (is_terminator(packet))
                end_result(read_status(h, !deprecate_eof_), allow_more);
            break;
        case Phase::file_upload:
            if (b == err_header) pop_front();
            break;
        case Phase::file_result:
            if (b == ok_header)
                end_result(read_status(h, false), true);
            else
                pop_front();
            break;
        case Phase::prepare_params:
            if (--p.left == 0) {
                if (!deprecate_eof_) {
                    p.phase = Phase::prepare_params_eof;
                } else if (p.then_columns > 0) {
                    p.phase = Phase::prepare_columns;
                    p.left = p.then_columns;
                } else {
                    pop_front();
                }
            }
            break;
        case Phase::prepare_params_eof:
            if (p.then_columns > 0) {
                p.phase = Phase::prepare_columns;
                p.left = p.then_columns;
            } else {
                pop_front();
            }
            break;
        case Phase::prepare_columns:
            if (--p.left == 0) {
                if (!deprecate_eof_)
                    p.phase = Phase::prepare_columns_eof;
                else
                    pop_front();
            }
            break;
        case Phase::prepare_columns_eof:
            pop_front();
            break;
        case Phase::authentication:
            if (b == ok_header) {
                status_ = read_status(h, false);
                if (p.database_on_ok) database_ = std::move(*p.database_on_ok);
                pop_front();
            } else if (b == err_header) {
                pop_front();
            } else if (b == more_data_header && h.size() == 2 && h[1] == 0x03) {
                // caching_sha2_password's fast path succeeded: the OK follows.
            } else {
                p.phase = Phase::auth_answer;  // AuthSwitchRequest or AuthMoreData
            }
            break;
        case Phase::auth_answer:
            break;
        case Phase::field_list:
            if (b == err_header || is_terminator(packet)) pop_front();
            break;
        case Phase::single:
            if (b == ok_header && !h.empty()) {
                status_ = read_status(h, false);
                if (p.database_on_ok) database_ = std::move(*p.database_on_ok);
            }
            pop_front();
            break;
        case Phase::endless:
            break;
    }
}

namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// Skips whitespace and comments (/* */, "-- ", #). MySQL's /*! */ comments are code, not
// comments: a statement with one is not a plain USE for us.
bool skip_blanks(std::string_view s, std::size_t& i) {
    for (;;) {
        while (i < s.size() && is_space(s[i])) ++i;
        if (s.substr(i, 2) == "/*") {
            if (s.substr(i, 3) == "/*!" || s.substr(i, 3) == "/*M") return false;
            const auto end = s.find("*/", i + 2);
            if (end == std::string_view::npos) return false;
            i = end + 2;
        } else if (i < s.size() && (s[i] == '#' || (s.substr(i, 2) == "--" && i + 2 < s.size() &&
                                                    is_space(s[i + 2])))) {
            const auto end = s.find('\n', i);
            i = end == std::string_view::npos ? s.size() : end + 1;
        } else {
            return true;
        }
    }
}
}  // namespace

std::optional<std::string> parse_use_statement(std::string_view sql) {
    std::size_t i = 0;
    if (!skip_blanks(sql, i)) return std::nullopt;
    if (sql.size() - i < 4) return std::nullopt;
    const auto keyword = sql.substr(i, 3);
    if ((keyword[0] | 0x20) != 'u' || (keyword[1] | 0x20) != 's' || (keyword[2] | 0x20) != 'e')
        return std::nullopt;
    i += 3;
    if (!is_space(sql[i]) && sql[i] != '`' && sql[i] != '/') return std::nullopt;
    if (!skip_blanks(sql, i) || i >= sql.size()) return std::nullopt;
    std::string name;
    if (sql[i] == '`') {
        for (++i;; ++i) {
            if (i >= sql.size()) return std::nullopt;
            if (sql[i] == '`') {
                if (i + 1 < sql.size() && sql[i + 1] == '`') {
                    name.push_back('`');
                    ++i;
                    continue;
                }
                ++i;
                break;
            }
            name.push_back(sql[i]);
        }
    } else {
        while (i < sql.size() && !is_space(sql[i]) && sql[i] != ';' && sql[i] != '/' &&
               sql[i] != '#' && sql[i] != '-') {
            const char c = sql[i];
            const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                               (c >= '0' && c <= '9') || c == '_' || c == '$' ||
                               static_cast<unsigned char>(c) >= 0x80;
            if (!plain) return std::nullopt;
            name.push_back(c);
            ++i;
        }
    }
    if (name.empty()) return std::nullopt;
    if (!skip_blanks(sql, i)) return std::nullopt;
    if (i < sql.size() && sql[i] == ';') {
        ++i;
        if (!skip_blanks(sql, i)) return std::nullopt;
    }
    if (i != sql.size()) return std::nullopt;
    return name;
}

}  // namespace uniqguard::protocol::mysql
