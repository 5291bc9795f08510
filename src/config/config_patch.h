#pragma once
// Config edits as OpenClaw's config RPC makes them (dist `merge-patch-*.mjs`, server-methods/config.ts;
// reference/openclaw-semantics.md §1 "Config RPC"): an RFC 7396 merge patch in which arrays of objects
// with an `id` merge by id, the destructive-array guard (`replacePaths`), the changed-path diff, the
// restoration of redaction sentinels, and the `$include` guard that keeps included files out of the
// root file. Pure functions over JSON values; thread-safe.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace talon::config {

/// The paths (OpenClaw's syntax: keys joined with '.', an id-keyed array entry as `[]`, e.g.
/// `models.providers.custom.models[].input`) whose arrays a patch may replace or shrink.
using ReplacePaths = std::set<std::string, std::less<>>;

/// Applies `patch` to `base` (OpenClaw applyMergePatch with mergeObjectArraysById): a non-object patch
/// replaces; `null` deletes a key; objects merge recursively; when both sides are arrays and the base
/// array is all objects with a non-empty string `id`, patch entries merge into the entry with the same id
/// (or are appended), unless the array's path is in `replacePaths` (then the patch array replaces it).
/// Other arrays are replaced.
json::value applyConfigMergePatch(const json::value& base, const json::value& patch, const ReplacePaths& replacePaths);

/// The array paths from which applying `patch` to `base` (giving `merged`) removes entries, minus those
/// listed in `replacePaths` (OpenClaw collectDestructiveArrayPatchPaths): an array set to null or to a
/// non-array, an id-keyed array that loses an id, a plain array that loses an element, and arrays inside an
/// object that the patch replaces with a non-object. Empty: the patch is not destructive.
std::vector<std::string> destructiveArrayPatchPaths(const json::value& base, const json::value& patch,
                                                    const json::value& merged, const ReplacePaths& replacePaths);

/// Errors of an id-keyed patch OpenClaw refuses (assertNoDuplicateConfigPatchIds): the current array has a
/// duplicate id ("Cannot ID-merge array at <path>: current config contains duplicate ID <id>; use
/// replacePaths for an explicit replacement.") or the patch array names one id twice ("Ambiguous
/// duplicate ID <id> in array at <path>."). kInvalidArgument.
Status checkPatchIds(const json::value& current, const json::value& patch, const ReplacePaths& replacePaths);

/// The leaf paths whose values differ between `prev` and `next` (OpenClaw diffConfigLeafPaths): objects
/// are descended into, arrays and scalars compared whole; sorted. "<root>" when the roots differ and are
/// not objects.
std::vector<std::string> diffConfigPaths(const json::value& prev, const json::value& next);

/// `submitted` with every redaction sentinel (kRedactedSentinel) replaced by the value at the same path in
/// `current` (OpenClaw restoreRedactedValues), so a config read through config.get can be written back
/// without losing its secrets. Errors: kInvalidArgument naming the path when `current` has no value there.
Result<json::value> restoreRedactedValues(const json::value& submitted, const json::value& current);

/// For a full config submitted from what config.get showed (config.apply/config.set): every string of
/// `submitted` that equals the value at the same path of `effective`, where `source` (the file as authored)
/// has a string holding a `${VAR}` reference, is put back to the `source` string, so a resolved env value
/// is never written into the file in place of its reference.
json::value restoreEnvReferences(const json::value& submitted, const json::value& source, const json::value& effective);

/// True when `value` holds a `$include` directive at any depth.
bool containsInclude(const json::value& value);

/// Checks that applying `patch` to the root file's authored tree `source` leaves every `$include` where it
/// is: the patch must not reach into an object that holds a `$include` (its content lives in another file,
/// and writing it into the root file would flatten it) nor replace or delete a subtree or array that holds
/// one. Errors: kFailedPrecondition naming the path, e.g. "config.patch cannot change agents: it comes
/// from an $include file; edit that file instead".
Status checkPatchKeepsIncludes(const json::value& source, const json::value& patch);

}  // namespace talon::config
