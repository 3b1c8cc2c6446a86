// A small inventory API bound to Lua with sol2, as its author would write the binding:
// usertypes with constructors (one throws on bad input), properties, methods taking
// strings, numbers, tables and callbacks (stored and called later), several return
// values, a subclass, and a userdata holding a sol::function. Nothing here knows of
// luahammer: `luaopen_inventory` is all the fuzzer is given.
#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <sol/sol.hpp>

namespace inventory {

class Item {
 public:
  Item(std::string name, double price) : name_(std::move(name)) { set_price(price); }
  virtual ~Item() = default;
  Item(const Item&) = default;
  Item& operator=(const Item&) = default;

  const std::string& name() const { return name_; }
  void set_name(std::string name) {
    if (name.empty()) throw std::invalid_argument("an item needs a name");
    name_ = std::move(name);
  }
  double price() const { return price_; }
  void set_price(double price) {
    if (!(price >= 0)) throw std::invalid_argument("a price is a number of at least 0");
    price_ = price;
  }
  virtual std::string label() const { return name_ + " (" + std::to_string(price_) + ")"; }
  double discounted(double percent) const { return price_ * (100 - std::clamp(percent, 0.0, 100.0)) / 100; }

 private:
  std::string name_;
  double price_ = 0;
};

class Perishable : public Item {
 public:
  Perishable(std::string name, double price, int days) : Item(std::move(name), price), days_(days) {}
  int days() const { return days_; }
  void set_days(int days) { days_ = days; }
  bool expired(int today) const { return today > days_; }
  std::string label() const override { return Item::label() + ", " + std::to_string(days_) + " days"; }

 private:
  int days_;
};

class Shelf {
 public:
  Shelf() = default;
  explicit Shelf(std::string title) : title_(std::move(title)) {}

  const std::string& title() const { return title_; }
  void set_title(std::string title) { title_ = std::move(title); }
  std::size_t size() const { return items_.size(); }

  void add(const Item& item) {
    items_.push_back(item);
    changed();
  }
  // Items from a Lua array of { name = …, price = … } tables.
  std::size_t load(const sol::table& rows) {
    std::size_t added = 0;
    for (std::size_t i = 1; i <= rows.size(); ++i) {
      sol::optional<sol::table> row = rows[i];
      if (!row) continue;
      sol::optional<std::string> name = (*row)["name"];
      sol::optional<double> price = (*row)["price"];
      if (!name || !price) continue;
      items_.emplace_back(*name, *price);
      ++added;
    }
    if (added > 0) changed();
    return added;
  }
  // The item at a 1-based position, removed.
  Item take(std::size_t position) {
    if (position < 1 || position > items_.size()) throw std::out_of_range("no item at that position");
    Item item = items_[position - 1];
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(position - 1));
    changed();
    return item;
  }
  sol::optional<Item> find(const std::string& name) const {
    for (const auto& item : items_)
      if (item.name() == name) return item;
    return sol::nullopt;
  }
  // count, total, cheapest, dearest
  std::tuple<std::size_t, double, double, double> totals() const {
    if (items_.empty()) return {0, 0, 0, 0};
    const auto [low, high] = std::minmax_element(items_.begin(), items_.end(),
                                                 [](const Item& a, const Item& b) { return a.price() < b.price(); });
    const double total =
        std::accumulate(items_.begin(), items_.end(), 0.0, [](double sum, const Item& i) { return sum + i.price(); });
    return {items_.size(), total, low->price(), high->price()};
  }
  // Calls f(name, price) for each item; stops when f returns false.
  std::size_t each(const sol::function& f) const {
    std::size_t visited = 0;
    for (const auto& item : std::vector<Item>(items_)) {
      ++visited;
      sol::object keep_going = f(item.name(), item.price());
      if (keep_going.is<bool>() && !keep_going.as<bool>()) break;
    }
    return visited;
  }
  // A callback kept by the shelf and called on every change.
  void on_change(sol::function f) { listener_ = std::move(f); }
  void forget() { listener_ = sol::nil; }

 private:
  void changed() {
    if (listener_.valid()) listener_(title_, items_.size());
  }
  std::string title_ = "shelf";
  std::vector<Item> items_;
  sol::function listener_;
};

// "name:price" -> an Item
Item parse(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos) throw std::invalid_argument("expected name:price");
  return Item(text.substr(0, colon), std::stod(text.substr(colon + 1)));
}

}  // namespace inventory

extern "C" int luaopen_inventory(lua_State* L) {
  using namespace inventory;
  sol::state_view lua(L);
  sol::table module = lua.create_table();
  module.new_usertype<Item>("Item", sol::constructors<Item(std::string, double)>(),
                            "name", sol::property(&Item::name, &Item::set_name),
                            "price", sol::property(&Item::price, &Item::set_price),
                            "label", &Item::label,
                            "discounted", &Item::discounted);
  module.new_usertype<Perishable>("Perishable", sol::constructors<Perishable(std::string, double, int)>(),
                                  sol::base_classes, sol::bases<Item>(),
                                  "days", sol::property(&Perishable::days, &Perishable::set_days),
                                  "expired", &Perishable::expired);
  module.new_usertype<Shelf>("Shelf", sol::constructors<Shelf(), Shelf(std::string)>(),
                             "title", sol::property(&Shelf::title, &Shelf::set_title),
                             "size", &Shelf::size,
                             "add", &Shelf::add,
                             "load", &Shelf::load,
                             "take", &Shelf::take,
                             "find", &Shelf::find,
                             "totals", &Shelf::totals,
                             "each", &Shelf::each,
                             "on_change", &Shelf::on_change,
                             "forget", &Shelf::forget);
  module.set_function("parse", &parse);
  return sol::stack::push(L, module);
}
