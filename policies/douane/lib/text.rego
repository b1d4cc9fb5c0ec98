# Helpers for building reason strings.
#
# Reasons are built with concat, never sprintf("%s"): in regopy 1.5.2 sprintf
# wraps a string held in a local variable in raw double quotes, which yields
# invalid JSON output and a failed request. sprintf("%v") is used only for
# non-strings (numbers, null), where it renders correctly.
package douane.lib.text

import rego.v1

# text renders any JSON value as plain text, so a malformed input value
# (a null region, a numeric id) still produces a reason instead of leaving the
# rule undefined, which would silently let the endpoint through.
text(x) := x if is_string(x)

text(x) := sprintf("%v", [x]) if not is_string(x)

# words joins strings with ", " after sorting them, for stable messages.
words(xs) := concat(", ", sort([text(x) | some x in xs]))
