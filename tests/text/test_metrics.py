"""Classification and entity metrics: parity with scikit-learn and seqeval, and input checks."""

from __future__ import annotations

import json
import random
import warnings
from dataclasses import replace

import numpy as np
import pytest
from seqeval import metrics as seqeval_metrics
from seqeval.metrics.sequence_labeling import get_entities
from sklearn import metrics as sk
from sklearn.preprocessing import MultiLabelBinarizer

from voxtext.errors import DataError
from voxtext.text.metrics import (
    ClassReport,
    bio_spans,
    classification_metrics,
    entity_metrics,
    multilabel_metrics,
)

TAGS = ["O"] + [f"{prefix}-{kind}" for prefix in "BIES" for kind in ("PER", "LOC", "MISC")]


@pytest.fixture(autouse=True)
def _quiet_references():
    """sklearn and seqeval warn about 0/0 (which they, like us, score as 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def assert_matches_sklearn(true, pred, metrics):
    """Every number of ``metrics`` equals sklearn's, over the same label order."""
    labels = list(metrics.labels)
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        true, pred, labels=labels, zero_division=0
    )
    assert [r.label for r in metrics.per_class] == labels
    assert [r.precision for r in metrics.per_class] == pytest.approx(precision)
    assert [r.recall for r in metrics.per_class] == pytest.approx(recall)
    assert [r.f1 for r in metrics.per_class] == pytest.approx(f1)
    assert [r.support for r in metrics.per_class] == list(support)
    for average in ("micro", "macro", "weighted"):
        expected = sk.precision_recall_fscore_support(
            true, pred, labels=labels, average=average, zero_division=0
        )[:3]
        got = tuple(getattr(metrics, f"{average}_{name}") for name in ("precision", "recall", "f1"))
        assert got == pytest.approx(expected), average
    assert metrics.accuracy == pytest.approx(sk.accuracy_score(true, pred))


# -- single-label -----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_single_label_matches_sklearn_on_random_data(seed):
    rng = np.random.default_rng(seed)
    classes = ["neg", "neu", "pos", "spam"][: 2 + seed % 3]
    true = list(rng.choice(classes, size=int(rng.integers(5, 60))))
    pred = [t if rng.random() < 0.6 else str(rng.choice(classes)) for t in true]

    metrics = classification_metrics(true, pred)

    assert_matches_sklearn(true, pred, metrics)
    assert metrics.labels == tuple(sorted(set(true) | set(pred)))
    expected_confusion = sk.confusion_matrix(true, pred, labels=list(metrics.labels))
    assert np.array_equal(np.array(metrics.confusion), expected_confusion)
    # micro averaging pools one decision per example, so it equals accuracy
    assert metrics.micro_f1 == pytest.approx(metrics.accuracy)
    assert metrics.support == len(true)


def test_integer_labels_sort_numerically_and_match_sklearn():
    true = [0, 2, 10, 2, 1, 10, 0]
    pred = [0, 2, 2, 2, 10, 10, 1]

    metrics = classification_metrics(true, pred)

    assert metrics.labels == (0, 1, 2, 10)
    assert_matches_sklearn(true, pred, metrics)
    assert np.array_equal(np.array(metrics.confusion), sk.confusion_matrix(true, pred))


def test_predictions_outside_the_labels_are_counted_not_dropped():
    true = ["a", "a", "b", "b"]
    pred = ["a", "junk", "b", "b"]

    metrics = classification_metrics(true, pred)

    assert metrics.labels == ("a", "b", "junk")
    assert metrics.report("junk") == ClassReport("junk", 0.0, 0.0, 0.0, 0)
    assert metrics.report("a").recall == 0.5
    assert metrics.confusion == ((1, 0, 1), (0, 2, 0), (0, 0, 0))
    assert metrics.accuracy == 0.75
    assert_matches_sklearn(true, pred, metrics)


def test_label_order_fixes_the_order_and_keeps_unlisted_classes():
    true = ["pos", "neg", "neu", "pos"]
    pred = ["pos", "neg", "other", "neg"]

    metrics = classification_metrics(true, pred, label_order=["pos", "neu", "neg", "unused"])

    assert metrics.labels == ("pos", "neu", "neg", "unused", "other")
    assert metrics.report("unused").support == 0
    assert metrics.confusion[0] == (1, 0, 1, 0, 0)  # true pos: once pos, once neg
    assert metrics.confusion[1] == (0, 0, 0, 0, 1)  # true neu: predicted "other"
    assert_matches_sklearn(true, pred, metrics)


def test_class_never_predicted_scores_zero_precision_not_nan():
    metrics = classification_metrics(["a", "b", "b"], ["a", "a", "a"])

    report = metrics.report("b")
    assert (report.precision, report.recall, report.f1, report.support) == (0.0, 0.0, 0.0, 2)
    assert metrics.report("a").precision == pytest.approx(1 / 3)
    assert_matches_sklearn(["a", "b", "b"], ["a", "a", "a"], metrics)


def test_mixed_str_and_int_labels_stay_apart_and_sort_by_repr():
    metrics = classification_metrics([1, "1", 2], [1, 1, "b"])

    assert metrics.labels == tuple(sorted([1, "1", 2, "b"], key=repr))
    assert metrics.report(1).support == 1
    assert metrics.report("1").support == 1
    assert metrics.report("1").recall == 0.0  # "1" predicted as 1: a different class
    assert metrics.accuracy == pytest.approx(1 / 3)


def test_numpy_labels_are_accepted_and_reported_as_plain_values():
    metrics = classification_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]))

    assert metrics.labels == (0, 1)
    assert all(type(label) is int for label in metrics.labels)
    json.dumps(metrics.to_dict())


def test_to_dict_is_json_and_keeps_label_types():
    metrics = classification_metrics([3, 1, 3], [3, 3, 3])

    data = json.loads(json.dumps(metrics.to_dict()))

    assert data["labels"] == [1, 3]
    assert data["confusion"] == [[0, 1], [0, 2]]
    assert data["per_class"][1] == {
        "label": 3,
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
        "support": 2,
    }
    assert data["accuracy"] == pytest.approx(2 / 3)
    assert data["macro_f1"] == pytest.approx(0.4)


def test_to_markdown_shows_per_class_rows_and_the_confusion_matrix():
    metrics = classification_metrics(["a|b", "c", "c"], ["a|b", "c", "a|b"])

    text = metrics.to_markdown()

    assert "| a\\|b | 0.500 | 1.000 | 0.667 | 1 |" in text
    assert "| c | 1.000 | 0.500 | 0.667 | 2 |" in text
    assert "| *macro avg* | 0.750 | 0.750 | 0.667 | 3 |" in text
    assert "| true \\ predicted | a\\|b | c |" in text
    assert "| c | 1 | 1 |" in text  # true c: once a|b, once c


@pytest.mark.parametrize(
    ("labels", "preds", "message"),
    [
        (["a", "b"], ["a"], "labels has 2 examples but preds has 1"),
        ([], [], "labels is empty"),
        (["a", None], ["a", "b"], "labels holds values that are not labels: [1] None"),
        (["a", 1.5], ["a", "b"], "[1] 1.5 (float)"),
        ([True, False], [True, True], "write booleans as 0/1"),
        ("ab", "ab", "labels is str, expected a list of labels"),
    ],
)
def test_single_label_input_errors_say_what_is_wrong(labels, preds, message):
    with pytest.raises(DataError) as caught:
        classification_metrics(labels, preds)
    assert message in str(caught.value)


def test_label_order_listing_a_class_twice_is_an_error():
    with pytest.raises(DataError, match="label_order lists 'a' more than once"):
        classification_metrics(["a"], ["a"], label_order=["a", "b", "a"])


# -- multi-label ------------------------------------------------------------------------------
def assert_multilabel_matches_sklearn(true, pred, metrics):
    binarizer = MultiLabelBinarizer(classes=list(metrics.labels))
    true_matrix = binarizer.fit_transform(true)
    pred_matrix = binarizer.transform(pred)
    assert_matches_sklearn(true_matrix, pred_matrix, _relabelled(metrics))
    assert metrics.hamming_accuracy == pytest.approx(1 - sk.hamming_loss(true_matrix, pred_matrix))


def _relabelled(metrics):
    """sklearn scores indicator matrices by column number; rename our classes the same way."""
    per_class = tuple(replace(r, label=i) for i, r in enumerate(metrics.per_class))
    return replace(metrics, labels=tuple(range(len(metrics.labels))), per_class=per_class)


@pytest.mark.parametrize("seed", range(6))
def test_multilabel_matches_sklearn_on_random_data(seed):
    rng = random.Random(seed)
    classes = ["art", "food", "sport", "tech", "travel"]
    true = [set(rng.sample(classes, rng.randint(0, 3))) for _ in range(rng.randint(4, 40))]
    pred = [
        {c for c in classes if (c in t) != (rng.random() < 0.25)} for t in true
    ]  # each decision flipped with probability 1/4

    metrics = multilabel_metrics(true, pred)

    assert metrics.confusion is None
    assert_multilabel_matches_sklearn(true, pred, metrics)


def test_multilabel_hand_case():
    true = [["a"], ["a", "b"], []]
    pred = [("a",), ("b",), ("c",)]

    metrics = multilabel_metrics(true, pred)

    assert metrics.labels == ("a", "b", "c")
    assert metrics.accuracy == pytest.approx(1 / 3)  # only the first example is exactly right
    assert metrics.hamming_accuracy == pytest.approx(7 / 9)
    assert metrics.report("a") == ClassReport("a", 1.0, 0.5, pytest.approx(2 / 3), 2)
    assert metrics.report("c") == ClassReport("c", 0.0, 0.0, 0.0, 0)
    assert metrics.micro_precision == pytest.approx(2 / 3)
    assert metrics.support == 3
    assert_multilabel_matches_sklearn(true, pred, metrics)


def test_multilabel_label_order_and_examples_without_labels():
    metrics = multilabel_metrics([[], []], [[], ["x"]], label_order=["z", "y"])

    assert metrics.labels == ("z", "y", "x")
    assert metrics.accuracy == 0.5
    # no true labels at all: every ratio has nothing to divide by and is 0
    assert (metrics.micro_f1, metrics.macro_f1, metrics.weighted_f1) == (0.0, 0.0, 0.0)
    assert_multilabel_matches_sklearn([[], []], [[], ["x"]], metrics)


@pytest.mark.parametrize(
    ("labels", "preds", "message"),
    [
        (["ab", "c"], [["a"], ["c"]], "labels[0] is str 'ab', expected a collection of labels"),
        ([["a"]], [["a"], ["b"]], "labels has 1 examples but preds has 2"),
        ([["a"]], [[None]], "preds[0] holds values that are not labels: [0] None"),
        ([], [], "labels is empty"),
    ],
)
def test_multilabel_input_errors(labels, preds, message):
    with pytest.raises(DataError) as caught:
        multilabel_metrics(labels, preds)
    assert message in str(caught.value)


# -- entity spans -----------------------------------------------------------------------------
def seqeval_spans(tags):
    return [(kind, start, end + 1) for kind, start, end in get_entities(list(tags))]


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
        (["O", "I-PER", "I-PER", "O"], [("PER", 1, 3)]),  # IOB1: I- after O starts one
        (["I-PER"], [("PER", 0, 1)]),
        (["B-PER", "I-LOC", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 3)]),  # type switch
        (["I-PER", "B-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
        (["B-PER", "B-PER", "I-PER"], [("PER", 0, 1), ("PER", 1, 3)]),
        (["S-LOC", "S-LOC"], [("LOC", 0, 1), ("LOC", 1, 2)]),  # IOBES singles
        (["B-ORG", "I-ORG", "E-ORG", "O"], [("ORG", 0, 3)]),
        (["B-ORG", "E-ORG", "I-ORG"], [("ORG", 0, 2), ("ORG", 2, 3)]),  # I- after E- starts
        (["O", "E-PER"], [("PER", 1, 2)]),
        (["E-PER", "E-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
        (["B-PER", "S-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
        (["B-PER", "E-LOC"], [("PER", 0, 1), ("LOC", 1, 2)]),
        (["B-GPE-X", "I-GPE-X"], [("GPE-X", 0, 2)]),  # the type is everything after "B-"
        (["O", "O"], []),
        ([], []),
    ],
)
def test_bio_spans_hand_cases_agree_with_seqeval(tags, expected):
    assert bio_spans(tags) == expected
    assert seqeval_spans(tags) == expected


def test_bio_spans_agree_with_seqeval_on_random_sequences():
    rng = random.Random(0)
    for _ in range(3000):
        tags = [rng.choice(TAGS) for _ in range(rng.randint(0, 10))]
        assert bio_spans(tags) == seqeval_spans(tags), tags


@pytest.mark.parametrize("bad", ["PER", "b-per", "B-", "B_PER", "", "B-PER X"])
def test_bio_spans_refuse_what_is_not_a_tag(bad):
    with pytest.raises(DataError, match=r"tags holds tags that are not entity tags: \[1\]"):
        bio_spans(["O", bad])


# -- entity metrics ---------------------------------------------------------------------------
def assert_entity_metrics_match_seqeval(true, pred):
    metrics = entity_metrics(true, pred)
    assert metrics.precision == pytest.approx(seqeval_metrics.precision_score(true, pred))
    assert metrics.recall == pytest.approx(seqeval_metrics.recall_score(true, pred))
    assert metrics.f1 == pytest.approx(seqeval_metrics.f1_score(true, pred))
    assert metrics.accuracy == pytest.approx(seqeval_metrics.accuracy_score(true, pred))
    report = seqeval_metrics.classification_report(true, pred, output_dict=True, zero_division=0)
    for kind in ("micro", "macro", "weighted"):
        expected = report[f"{kind} avg"]
        assert getattr(metrics, f"{kind}_precision") == pytest.approx(expected["precision"])
        assert getattr(metrics, f"{kind}_recall") == pytest.approx(expected["recall"])
        assert getattr(metrics, f"{kind}_f1") == pytest.approx(expected["f1-score"])
    assert metrics.support == report["micro avg"]["support"]
    assert metrics.types == tuple(sorted(k for k in report if not k.endswith(" avg")))
    for type_report in metrics.per_type:
        expected = report[type_report.label]
        assert type_report.precision == pytest.approx(expected["precision"])
        assert type_report.recall == pytest.approx(expected["recall"])
        assert type_report.f1 == pytest.approx(expected["f1-score"])
        assert type_report.support == expected["support"]
    return metrics


def test_entity_metrics_hand_case():
    true = [["O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O", "S-LOC"]]
    pred = [["B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O", "B-ORG"]]

    metrics = assert_entity_metrics_match_seqeval(true, pred)

    assert (metrics.support, metrics.predicted) == (3, 3)
    assert metrics.f1 == pytest.approx(1 / 3)  # only PER matches exactly
    assert metrics.types == ("LOC", "MISC", "ORG", "PER")
    assert metrics.accuracy == pytest.approx(6 / 9)


def test_entity_metrics_tricky_sequences_match_seqeval():
    true = [
        ["I-PER", "I-PER", "O", "I-LOC"],
        ["B-PER", "I-LOC", "E-LOC", "O"],
        ["S-ORG", "B-ORG", "E-ORG", "I-ORG"],
        ["O", "E-PER", "E-PER", "O"],
    ]
    pred = [
        ["B-PER", "I-PER", "O", "B-LOC"],  # same entities as IOB1, written as IOB2
        ["B-PER", "B-LOC", "I-LOC", "O"],
        ["B-ORG", "B-ORG", "I-ORG", "B-ORG"],
        ["O", "S-PER", "B-PER", "O"],
    ]

    metrics = assert_entity_metrics_match_seqeval(true, pred)

    # Written differently, yet every entity is the same: entity scores are perfect while
    # the tags themselves are right only 7 times out of 16.
    assert (metrics.support, metrics.predicted) == (9, 9)
    assert metrics.f1 == 1.0
    assert metrics.accuracy == pytest.approx(7 / 16)
    assert [r.label for r in metrics.per_type] == ["LOC", "ORG", "PER"]


@pytest.mark.parametrize("seed", range(10))
def test_entity_metrics_match_seqeval_on_random_tags(seed):
    rng = random.Random(seed)
    true = [[rng.choice(TAGS) for _ in range(rng.randint(0, 9))] for _ in range(rng.randint(1, 8))]
    true[0].append("B-PER")  # at least one tag in the data
    pred = [[t if rng.random() < 0.6 else rng.choice(TAGS) for t in s] for s in true]

    assert_entity_metrics_match_seqeval(true, pred)


def test_entity_metrics_without_any_entity_scores_zero():
    metrics = entity_metrics([["O", "O"]], [["O", "O"]])

    assert metrics.types == ()
    assert (metrics.f1, metrics.macro_f1, metrics.weighted_f1) == (0.0, 0.0, 0.0)
    assert metrics.accuracy == 1.0


def test_entity_metrics_to_dict_and_markdown():
    metrics = entity_metrics([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "B-LOC"]])

    data = json.loads(json.dumps(metrics.to_dict()))
    text = metrics.to_markdown()

    assert data["micro_precision"] == 0.5
    assert data["micro_recall"] == 1.0
    assert data["types"] == ["LOC", "PER"]
    assert data["per_type"][0] == {
        "label": "LOC",
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 0,
    }
    assert "| PER | 1.000 | 1.000 | 1.000 | 1 |" in text
    assert "| *micro avg* | 0.500 | 1.000 | 0.667 | 1 |" in text
    assert "tag accuracy: 0.667" in text


def test_entity_metrics_name_every_sentence_whose_lengths_differ():
    true = [["O"], ["B-PER", "O"], ["O", "O", "O"]]
    pred = [["O"], ["B-PER"], ["O", "O"]]

    with pytest.raises(DataError) as caught:
        entity_metrics(true, pred)

    assert caught.value.problems == [
        "sentence 1: 2 true tags, 1 predicted",
        "sentence 2: 3 true tags, 2 predicted",
    ]
    assert "2 sentences have a different number of true and predicted tags" in str(caught.value)


@pytest.mark.parametrize(
    ("true", "pred", "message"),
    [
        ([], [], "true_tags is empty"),
        ([["O"]], [["O"], ["O"]], "true_tags has 1 sentences but pred_tags has 2"),
        (["B-PER"], ["B-PER"], "true_tags[0] is str, expected a list of tags"),
        ([["O", "PER"]], [["O", "O"]], "true_tags[0] holds tags that are not entity tags: [1]"),
        ([["O"]], [[None]], "pred_tags[0] holds tags that are not entity tags: [0] None"),
        ([[]], [[]], "every sentence is empty"),
        ("B-PER", "B-PER", "true_tags is str, expected a list of sentences"),
    ],
)
def test_entity_metrics_input_errors(true, pred, message):
    with pytest.raises(DataError) as caught:
        entity_metrics(true, pred)
    assert message in str(caught.value)
