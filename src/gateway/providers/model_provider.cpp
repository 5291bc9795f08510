#include "gateway/providers/model_provider.h"

namespace talon::gateway {

namespace {
const std::string& noArgumentsSchemaText() {
  static const std::string text = R"({"type":"object","properties":{}})";
  return text;
}
}  // namespace

ToolSpec::ToolSpec(std::string name, std::string description, json::object parameters)
    : name(std::move(name)), description(std::move(description)) {
  if (parameters.empty()) return;
  auto schema = std::make_shared<Schema>();
  schema->text = json::serialize(parameters);
  schema->object = std::move(parameters);
  schema_ = std::move(schema);
}

const json::object& ToolSpec::parameters() const {
  static const json::object empty;
  return schema_ ? schema_->object : empty;
}

const std::string& ToolSpec::parametersJson() const { return schema_ ? schema_->text : noArgumentsSchemaText(); }

}  // namespace talon::gateway
