package douane.lib.text_test

import rego.v1

import data.douane.lib.text

test_text_renders_strings_and_numbers if {
	text.text("cn") == "cn"
	text.text(1500) == "1500"
	text.text(null) == "null"
}

test_words_sorts_and_joins if {
	text.words({"special:health", "personal"}) == "personal, special:health"
}
