"""The answer pipeline as a LangChain Runnable: invoke, stream, batch, callbacks to the model."""

from __future__ import annotations

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.answer import Answer
from assistant.chain import AnswerPipeline
from assistant.composition import build_assistant

pytestmark = pytest.mark.slow
POLICE = "The police want a user's data without a court order; what should we do?"


class Recorder(BaseCallbackHandler):
    def __init__(self):
        self.chains: list[str] = []
        self.chat_parents: list = []
        self.runs: dict = {}

    def on_chain_start(self, serialized, inputs, *, run_id, parent_run_id=None, **kwargs):
        self.chains.append(kwargs.get("name") or "")
        self.runs[run_id] = kwargs.get("name")

    def on_chat_model_start(self, serialized, messages, *, run_id, parent_run_id=None, **kw):
        self.chat_parents.append(self.runs.get(parent_run_id))


@pytest.fixture(scope="module")
def assistant(corpus_library):
    return build_assistant(corpus_library.settings, library=corpus_library)


def test_invoke_gives_the_same_answer_as_the_assistant(assistant):
    answer = AnswerPipeline(assistant).invoke(POLICE)

    assert isinstance(answer, Answer)
    assert answer.text == assistant.answer(POLICE).text


def test_stream_gives_the_text_then_the_answer(assistant):
    pieces = list(AnswerPipeline(assistant).stream({"question": POLICE}))

    assert isinstance(pieces[-1], Answer)
    assert "".join(p for p in pieces[:-1]) == pieces[-1].text


def test_batch_answers_each_question_in_order(assistant):
    answers = AnswerPipeline(assistant).batch([POLICE, "What is the capital of Australia?"])

    assert [a.declined for a in answers] == [False, True]


def test_callbacks_see_the_pipeline_and_the_chat_model_as_its_child(corpus_library):
    model = FakeListChatModel(responses=["Ask for the demand in writing [1]."])
    llm_assistant = build_assistant(corpus_library.settings, library=corpus_library,
                                    chat_model=model)
    recorder = Recorder()

    AnswerPipeline(llm_assistant).invoke({"question": POLICE, "mode": "llm"},
                                         config={"callbacks": [recorder]})

    assert "hrdd_answer" in recorder.chains
    assert recorder.chat_parents == ["hrdd_answer"]


def test_a_request_without_a_question_is_refused_clearly(assistant):
    with pytest.raises(TypeError, match="question"):
        AnswerPipeline(assistant).invoke({"text": POLICE})
