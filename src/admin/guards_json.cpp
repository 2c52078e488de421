#include "admin/guards_json.hpp"

#include <boost/json.hpp>

namespace uniqguard::admin {

namespace json = boost::json;

namespace {

json::array strings(const std::vector<std::string>& values) {
    json::array out;
    for (const auto& v : values) out.emplace_back(v);
    return out;
}

json::object guard_object(const GuardSnapshot& g) {
    json::object o;
    o["name"] = g.name;
    o["table"] = g.table;
    o["columns"] = strings(g.columns);
    o["action"] = g.action;
    o["state"] = g.state;
    if (!g.failure.empty()) o["failure"] = g.failure;
    o["keys"] = g.keys;
    o["bytes"] = g.bytes;
    o["load_seconds"] = g.load_seconds ? json::value(*g.load_seconds) : json::value(nullptr);
    const auto& c = g.counters;
    o["counters"] = json::object{{"passed", c.passed},
                                 {"checked", c.checked},
                                 {"rejected", c.rejected},
                                 {"ignored", c.ignored},
                                 {"logged", c.logged},
                                 {"refused", c.refused},
                                 {"forwarded_unready", c.forwarded_unready},
                                 {"shape_passes", c.shape_passes}};
    const auto& u = g.unique_index;
    o["unique_index"] =
        json::object{{"enforced", u.enforced ? json::value(*u.enforced) : json::value(nullptr)},
                     {"indexes", strings(u.indexes)},
                     {"source", u.source}};
    return o;
}

}  // namespace

std::string render_guards_json(const std::vector<GuardSnapshot>& guards) {
    json::array out;
    for (const auto& g : guards) out.emplace_back(guard_object(g));
    return json::serialize(json::object{{"guards", std::move(out)}}) + "\n";
}

}  // namespace uniqguard::admin
