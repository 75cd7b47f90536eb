from pipeline.text import split_sentences


def test_sentences_keep_quotes_and_offsets(bodies):
    for body in bodies.values():
        for s in split_sentences(body):
            assert body[s.start : s.end] == s.text
            assert "\n" not in s.text


def test_quote_with_inner_full_stop_is_one_sentence():
    body = "「研究目的であれば助かる。それだけでは不十分だ」(ニコルソン氏)\n次の文。"
    texts = [s.text for s in split_sentences(body)]
    assert texts == ["「研究目的であれば助かる。それだけでは不十分だ」(ニコルソン氏)", "次の文。"]


def test_names_are_not_split_and_headings_are_sentences():
    body = "OpenAIのCEO、Sam Altmanは発表しました。Sam Altmanの発表\nGPT-2の段階的リリース - 転換点\n"
    texts = [s.text for s in split_sentences(body)]
    assert texts == ["OpenAIのCEO、Sam Altmanは発表しました。", "Sam Altmanの発表", "GPT-2の段階的リリース - 転換点"]


def test_unclosed_bracket_stops_at_line_end():
    body = "「閉じない引用。\n次の行。"
    assert [s.text for s in split_sentences(body)] == ["「閉じない引用。", "次の行。"]


def test_ascii_question_mark_does_not_end_a_sentence():
    body = "“昔のGPT”への回帰か? OpenAIが「gpt-oss」を開放した"
    assert len(split_sentences(body)) == 1
