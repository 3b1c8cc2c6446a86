#include <luahammer/core/lua_generator.hpp>

#include <string>
#include <vector>

namespace luahammer {
namespace {

enum class Kind { Number, String, Table, Function, Any };

class Generator {
 public:
  Generator(FuzzedDataProvider& data, const GeneratorOptions& options) : data_(data), options_(options) {}

  std::string program() {
    out_ = "local host = host or {}\n";
    scopes_.emplace_back();
    declare("n0", Kind::Number);
    out_ += "local n0 = 1\n";
    declare("s0", Kind::String);
    out_ += "local s0 = \"s\"\n";
    declare("t0", Kind::Table);
    out_ += "local t0 = {1, 2, 3, k = \"v\"}\n";
    const int count = data_.ConsumeIntegralInRange<int>(1, options_.max_statements);
    for (int i = 0; i < count && data_.remaining_bytes() > 0; ++i) statement(0);
    out_ += "return " + expression(Kind::Any, 0) + "\n";
    return out_;
  }

 private:
  struct Variable {
    std::string name;
    Kind kind;
    bool assignable;
  };

  int pick(int n) { return data_.ConsumeIntegralInRange<int>(0, n - 1); }
  std::string fresh(const char* prefix) { return prefix + std::to_string(++names_); }
  void declare(const std::string& name, Kind kind, bool assignable = true) {
    scopes_.back().push_back({name, kind, assignable});
  }
  void line(const std::string& text) { out_ += std::string(static_cast<std::size_t>(indent_) * 2, ' ') + text + "\n"; }

  const Variable* variable(Kind kind, bool need_assignable = false) {
    std::vector<const Variable*> found;
    for (const auto& scope : scopes_) {
      for (const auto& v : scope) {
        if ((v.kind == kind || kind == Kind::Any) && (!need_assignable || v.assignable)) found.push_back(&v);
      }
    }
    if (found.empty()) return nullptr;
    return found[static_cast<std::size_t>(pick(static_cast<int>(found.size())))];
  }

  // ---- expressions -------------------------------------------------------------------

  std::string number_literal() {
    switch (pick(10)) {
      case 0: return "math.maxinteger";
      case 1: return "math.mininteger";
      case 2: return "(0/0)";
      case 3: return "(1/0)";
      case 4: return "-0.0";
      case 5: return std::to_string(data_.ConsumeIntegralInRange<int>(-3, 3)) + ".5";
      default: return std::to_string(data_.ConsumeIntegralInRange<int>(-100, 100));
    }
  }

  std::string string_literal() {
    static const char* const samples[] = {"\"\"",   "\"a\"", "\"hello\"",    "\"\\0zero\\0\"",
                                          "\"%d\"", "\"k\"", "\"\\255\\n\"", "\"__index\""};
    return samples[pick(8)];
  }

  std::string number(int depth) {
    if (depth >= options_.max_depth) return number_literal();
    switch (pick(9)) {
      case 0:
      case 1: return number_literal();
      case 2:
        if (const Variable* v = variable(Kind::Number)) return v->name;
        return number_literal();
      case 3: {
        static const char* const ops[] = {"+", "-", "*", "//", "%", "&", "|", "~", "<<"};
        // Integer-safe operators on integer operands, arithmetic errors stay rare.
        return "(" + number(depth + 1) + " " + ops[pick(3)] + " " + number(depth + 1) + ")";
      }
      case 4: return "#" + string(depth + 1);
      case 5: return "#" + table(depth + 1);
      case 6: return "select('#', " + expression(Kind::Any, depth + 1) + ")";
      case 7: return options_.use_host_api ? "host.add(" + small_int() + ", " + small_int() + ")" : small_int();
      default: return "math.floor(" + number(depth + 1) + " + 0.5)";
    }
  }

  std::string small_int() { return std::to_string(data_.ConsumeIntegralInRange<int>(-50, 50)); }

  std::string string(int depth) {
    if (depth >= options_.max_depth) return string_literal();
    switch (pick(7)) {
      case 0:
      case 1: return string_literal();
      case 2:
        if (const Variable* v = variable(Kind::String)) return v->name;
        return string_literal();
      case 3: return "(" + string(depth + 1) + " .. " + string(depth + 1) + ")";
      case 4: return "string.rep(" + string(depth + 1) + ", " + std::to_string(pick(8)) + ")";
      case 5: return "tostring(" + expression(Kind::Any, depth + 1) + ")";
      default:
        return options_.use_host_api ? "host.concat(" + string(depth + 1) + ", " + small_int() + ")" : string_literal();
    }
  }

  std::string table(int depth) {
    if (depth >= options_.max_depth) return "{}";
    switch (pick(6)) {
      case 0: return "{}";
      case 1:
        if (const Variable* v = variable(Kind::Table)) return v->name;
        return "{" + expression(Kind::Any, depth + 1) + "}";
      case 2:
        return "{" + expression(Kind::Any, depth + 1) + ", " + expression(Kind::Any, depth + 1) +
               ", x = " + number(depth + 1) + "}";
      case 3: return "setmetatable({}, " + metatable(depth + 1) + ")";
      case 4: return "{n = " + number(depth + 1) + ", s = " + string(depth + 1) + "}";
      default: return "table.pack(" + expression(Kind::Any, depth + 1) + ")";
    }
  }

  std::string metatable(int depth) {
    static const char* const fields[] = {
        "__index = function(t, k) return k end",
        "__index = {k = 1}",
        "__newindex = function(t, k, v) rawset(t, k, v) end",
        "__call = function(self, a) return a end",
        "__eq = function() return true end",
        "__lt = function() return false end",
        "__le = function() return true end",
        "__len = function() return 3 end",
        "__concat = function(a, b) return \"c\" end",
        "__gc = function(o) gc_runs = (gc_runs or 0) + 1 end",
        "__close = function() closes = (closes or 0) + 1 end",
        "__mode = \"k\"",
        "__mode = \"v\"",
        "__tostring = function() return \"object\" end",
        "__index = function() error(\"index failed\") end",
    };
    std::string out = "{";
    const int n = 1 + pick(3);
    for (int i = 0; i < n; ++i) out += std::string(i ? ", " : "") + fields[pick(15)];
    (void)depth;
    return out + "}";
  }

  std::string function(int depth) {
    if (const Variable* v = variable(Kind::Function); v != nullptr && pick(2) == 0) return v->name;
    // An anonymous function: its body sees the enclosing variables (upvalues).
    std::string body = "function(a, b) ";
    if (const Variable* v = variable(Kind::Number, true); v != nullptr && pick(2) == 0) {
      body += v->name + " = " + v->name + " + 1 ";
    }
    body += "return " + expression(Kind::Any, depth + 1) + " end";
    return body;
  }

  std::string call_result(int depth) {
    switch (pick(6)) {
      case 0:
        if (const Variable* v = variable(Kind::Function)) return v->name + "(" + number(depth + 1) + ")";
        return "nil";
      case 1: return "pcall(" + function(depth + 1) + ", " + number(depth + 1) + ")";
      case 2: return "select(2, pcall(error, " + expression(Kind::Any, depth + 1) + "))";
      case 3: return options_.use_host_api ? "host.echo(" + expression(Kind::Any, depth + 1) + ")" : "nil";
      case 4: return "(" + table(depth + 1) + ").x";
      default: return "coroutine.isyieldable()";
    }
  }

  std::string expression(Kind kind, int depth) {
    switch (kind) {
      case Kind::Number: return number(depth);
      case Kind::String: return string(depth);
      case Kind::Table: return table(depth);
      case Kind::Function: return function(depth);
      case Kind::Any: break;
    }
    if (depth >= options_.max_depth) return pick(2) ? number_literal() : string_literal();
    switch (pick(8)) {
      case 0: return number(depth);
      case 1: return string(depth);
      case 2: return table(depth);
      case 3: return "nil";
      case 4: return pick(2) ? "true" : "false";
      case 5: return "(" + number(depth + 1) + " < " + number(depth + 1) + ")";
      case 6: return call_result(depth);
      default:
        if (const Variable* v = variable(Kind::Any)) return v->name;
        return "nil";
    }
  }

  // ---- statements --------------------------------------------------------------------

  void block(int depth) {
    scopes_.emplace_back();
    ++indent_;
    const int n = 1 + pick(3);
    for (int i = 0; i < n && data_.remaining_bytes() > 0; ++i) statement(depth + 1);
    --indent_;
    scopes_.pop_back();
  }

  void statement(int depth) {
    const int choices = depth >= options_.max_depth ? 6 : 22;
    switch (pick(choices)) {
      case 0: {
        const Kind kinds[] = {Kind::Number, Kind::String, Kind::Table, Kind::Function};
        const Kind kind = kinds[pick(4)];
        const std::string name = fresh(kind == Kind::Number   ? "n"
                                       : kind == Kind::String ? "s"
                                       : kind == Kind::Table  ? "t"
                                                              : "f");
        line("local " + name + " = " + expression(kind, depth));
        declare(name, kind);
        return;
      }
      case 1: {
        const std::string name = fresh("c");
        line("local " + name + " <const> = " + number(depth));
        declare(name, Kind::Number, false);
        return;
      }
      case 2:
        if (const Variable* v = variable(Kind::Number, true)) {
          line(v->name + " = " + number(depth));
          return;
        }
        [[fallthrough]];
      case 3:
        if (const Variable* t = variable(Kind::Table)) {
          line(t->name + "[" + expression(Kind::Any, depth) + " or 1] = " + expression(Kind::Any, depth));
          return;
        }
        [[fallthrough]];
      case 4: line("collectgarbage(\"" + std::string(gc_option()) + "\")"); return;
      case 5: line("local _ = " + expression(Kind::Any, depth)); return;
      case 6: {
        line("for i = 1, " + std::to_string(1 + pick(options_.max_loop_iterations)) + " do");
        block(depth);
        line("end");
        return;
      }
      case 7: {
        const std::string counter = fresh("w");
        line("do local " + counter + " = 0 while " + counter + " < " +
             std::to_string(1 + pick(options_.max_loop_iterations)) + " do " + counter + " = " + counter + " + 1");
        block(depth);
        line("end end");
        return;
      }
      case 8: {
        line("if " + expression(Kind::Any, depth) + " then");
        block(depth);
        line("else");
        block(depth);
        line("end");
        return;
      }
      case 9: {
        const std::string label = fresh("skip");
        line("do");
        ++indent_;
        line("if " + expression(Kind::Any, depth) + " then goto " + label + " end");
        block(depth);
        line("::" + label + "::");
        --indent_;
        line("end");
        return;
      }
      case 10: {
        const std::string name = fresh("f");
        line("local function " + name + "(a, b)");
        block(depth);  // `name` is not declared yet: no recursion
        line("  return " + expression(Kind::Any, depth + 1));
        line("end");
        declare(name, Kind::Function);
        return;
      }
      case 11: {
        const std::string name = fresh("r");
        line("do local " + name + " <close> = " + closable(depth));
        block(depth);
        line("end");
        return;
      }
      case 12: {
        const std::string co = fresh("co");
        line("local " + co + " = coroutine.create(function(a)");
        ++indent_;
        line("local got = coroutine.yield(" + expression(Kind::Any, depth + 1) + ")");
        block(depth);
        line("return got");
        --indent_;
        line("end)");
        line("coroutine.resume(" + co + ", " + expression(Kind::Any, depth) + ")");
        if (pick(2)) line("coroutine.resume(" + co + ", " + expression(Kind::Any, depth) + ")");
        if (pick(2)) line("coroutine.close(" + co + ")");
        line("local _ = coroutine.status(" + co + ")");
        return;
      }
      case 13: {
        const std::string gen = fresh("g");
        line("local " + gen + " = coroutine.wrap(function() for i = 1, " + std::to_string(1 + pick(4)) +
             " do coroutine.yield(i) end end)");
        line("pcall(" + gen + ") pcall(" + gen + ")");
        return;
      }
      case 14: {
        static const char* const errors[] = {"\"message\"", "{code = 1}", "42", "nil",
                                             "setmetatable({}, {__tostring = function() return \"e\" end})"};
        line("local ok, err = pcall(function() error(" + std::string(errors[pick(5)]) + ") end)");
        return;
      }
      case 15: line("xpcall(function() local x = nil; return x.y end, function(e) return e end)"); return;
      case 16: line("local mt = setmetatable({}, " + metatable(depth) + ")"); return;
      case 17: {
        // "@" marks where a generated string goes.
        static const char* const calls[] = {
            "table.insert(t0, @)",
            "table.remove(t0)",
            "local _ = table.concat({\"a\", \"b\"}, @)",
            "table.sort(t0, function(a, b) return tostring(a) < tostring(b) end)",
            "local _ = string.format(\"%d %s\", 1, @)",
            "local _ = string.sub(s0, 1, 3)",
            "local _ = string.find(s0, \"s\", 1, true)",
            "local _ = utf8.char(72, 105)",
        };
        std::string call = calls[pick(8)];
        const auto at = call.find('@');
        if (at != std::string::npos) call.replace(at, 1, string(depth));
        line(call);
        return;
      }
      case 18:
        if (options_.use_host_api) {
          host_statement(depth);
          return;
        }
        [[fallthrough]];
      case 19:
        if (options_.use_host_api) {
          const std::string u = fresh("u");
          line("local " + u + " = host.make(" + small_int() + ")");
          line(u + ":set(" + small_int() + ")");
          line("local _ = " + u + ":get()");
          if (pick(2)) line(u + ":store(" + function(depth) + ")");
          if (pick(2)) line("pcall(" + u + ".call_stored, " + u + ", " + number(depth) + ")");
          return;
        }
        [[fallthrough]];
      case 20: {
        const std::string weak = fresh("t");
        line("local " + weak + " = setmetatable({}, {__mode = \"" + (pick(2) ? "k" : "v") + "\"})");
        line(weak + "[{}] = {} " + weak + "[1] = {}");
        declare(weak, Kind::Table);
        return;
      }
      default: {
        line("local " + fresh("gc") + " = setmetatable({}, {__gc = function(o) local t = {o} end})");
        return;
      }
    }
  }

  std::string closable(int depth) {
    switch (pick(4)) {
      case 0: return "nil";
      case 1: return "setmetatable({}, {__close = function(o, e) closes = (closes or 0) + 1 end})";
      case 2:
        if (options_.use_host_api) return "host.make(" + small_int() + ")";
        return "false";
      default: return "setmetatable({}, {__close = function() error(" + string(depth + 1) + ") end})";
    }
  }

  void host_statement(int depth) {
    switch (pick(6)) {
      case 0:
        line("local slot = host.store(" + function(depth) + ")");
        line("pcall(host.call_stored, slot, 1)");
        break;
      case 1: line("pcall(host.fail, " + expression(Kind::Any, depth) + ")"); break;
      case 2:
        line("local hco = coroutine.wrap(function() return host.pause(" + number(depth) + ") end)");
        line("pcall(hco) pcall(hco, 1)");
        break;
      case 3:
        // The values coroutine.resume hands back go through host.echo, which reports the
        // binding's pending marker if it ever reaches user code (mlua #499).
        line("local aco = coroutine.create(function() return host.fetch(" + small_int() + ") end)");
        line("host.echo(coroutine.resume(aco))");
        break;
      case 4:
        line("local e1, e2 = host.echo(" + expression(Kind::Any, depth) + ", " + expression(Kind::Any, depth) + ")");
        break;
      default: line("pcall(host.drop_stored, " + small_int() + ")"); break;
    }
  }

  const char* gc_option() {
    static const char* const options[] = {"collect", "step", "incremental", "generational", "count"};
    return options[pick(5)];
  }

  FuzzedDataProvider& data_;
  const GeneratorOptions& options_;
  std::string out_;
  std::vector<std::vector<Variable>> scopes_;
  int names_ = 0;
  int indent_ = 0;
};

}  // namespace

std::string generate_lua_program(FuzzedDataProvider& data, const GeneratorOptions& options) {
  return Generator(data, options).program();
}

std::string generate_lua_program(const std::uint8_t* bytes, std::size_t size, const GeneratorOptions& options) {
  FuzzedDataProvider data(bytes, size);
  return generate_lua_program(data, options);
}

}  // namespace luahammer
