"""tinygrad_seq.tasks: the adding problem's data against a hand count, its models, and a run that repeats itself."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_seq as tg
from tinygrad_seq import nn, tasks


@given(T=st.integers(2, 30), B=st.integers(1, 20), seed=st.integers(0, 2 ** 32 - 1))
def test_adding_batch_marks_one_value_in_each_half_and_the_target_is_their_sum(T, B, seed):
    x, y = tasks.adding_batch(np.random.default_rng(seed), T, B)
    assert x.shape == (T, B, 2) and y.shape == (B, 1) and x.dtype == tg.float32 and y.dtype == tg.float32
    xs, ys = x.numpy().astype(np.float64), y.numpy()
    for b in range(B):
        values, marks = xs[:, b, 0], xs[:, b, 1]
        assert ((values >= 0) & (values <= 1)).all()
        where = [t for t in range(T) if marks[t] == 1.0]
        assert set(marks.tolist()) <= {0.0, 1.0} and len(where) == 2
        assert where[0] < T // 2 <= where[1]
        assert ys[b, 0] == pytest.approx(values[where[0]] + values[where[1]], rel=1e-6)


def test_the_lstm_starts_with_its_forget_bias_raised_by_one_and_the_others_are_the_defaults():
    net, head = tasks.make_adding_model("LSTM", 5, seed=3)
    tg.manual_seed(3)
    plain = nn.LSTM(2, 5)
    bias, default = net.bias_ih_l0.numpy(), plain.bias_ih_l0.numpy()
    assert np.allclose(bias[5:10], default[5:10] + 1.0, atol=1e-7)            # gate order i, f, g, o
    assert np.array_equal(np.delete(bias, range(5, 10)), np.delete(default, range(5, 10)))
    assert np.array_equal(net.weight_hh_l0.numpy(), plain.weight_hh_l0.numpy())
    assert isinstance(head, nn.Linear) and head.weight.shape == (1, 5)
    gru, _ = tasks.make_adding_model("GRU", 5, seed=3)
    assert isinstance(gru, nn.GRU) and gru.hidden_size == 5
    with pytest.raises(ValueError, match="kind must be one of"):
        tasks.make_adding_model("Transformer", 5)


def test_a_run_repeats_itself_and_reports_the_baseline_and_accuracy_as_defined(capsys):
    task = tasks.AddingTask(T=6, hidden=4, steps=6, batch=8, n_test=50)
    a = tasks.train_adding("GRU", task)
    tg.manual_seed(99)
    np.random.seed(7)                                      # whatever ran before: the run is seeded
    b = tasks.train_adding("GRU", task)
    assert a.losses == b.losses and a.mse == b.mse and a.accuracy == b.accuracy and len(a.losses) == 6
    _, y = task.test_set()
    target = y.numpy().astype(np.float64)
    assert a.baseline == pytest.approx(float(np.var(target)), rel=1e-5)
    with tg.no_grad():
        out, _ = a.net(task.test_set()[0])
        pred = a.head(out[-1]).numpy()
    assert a.mse == pytest.approx(float(((pred - target) ** 2).mean()), rel=1e-5)
    assert a.accuracy == float((np.abs(pred - target) < 0.1).mean())
    record = a.record()
    assert set(record) == {"kind", "losses", "ms", "seconds", "mse", "baseline", "accuracy"} and a.ms > 0
    assert "GRU: step 6/6" in capsys.readouterr().out


def test_settings_name_every_field_and_the_code():
    s = tasks.AddingTask.lesson(True).settings()
    assert (s["T"], s["hidden"], s["steps"]) == (10, 16, 120) and len(s["code"]) == 12
    assert tasks.AddingTask.lesson(False).settings()["steps"] == 1500
