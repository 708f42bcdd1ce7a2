"""Every exercise checker accepts its reference, rejects a typical mistake with a hint, and
reports an untouched stub as "not attempted yet" instead of crashing."""
import pytest

from snnbp import exercises


@pytest.mark.parametrize("name", exercises.names())
def test_reference_passes(name, capsys):
    result = exercises.check(name, exercises.get(name).reference)
    assert result.passed and result.attempted and bool(result)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("name", exercises.names())
def test_mistake_fails_with_hint(name, capsys):
    exercise = exercises.get(name)
    assert exercise.mistake is not None, f"{name} needs a typical mistake to test against"
    result = exercises.check(name, exercise.mistake)
    assert not result.passed and result.attempted
    assert result.hint == exercise.hint and len(result.hint) > 20
    out = capsys.readouterr().out
    assert "Hint:" in out and "for the input" in out


@pytest.mark.parametrize("name", exercises.names())
def test_stub_is_not_attempted(name, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError

    result = exercises.check(name, stub)
    assert not result.passed and not result.attempted
    assert "not attempted yet" in capsys.readouterr().out


def test_error_in_student_code_is_reported():
    result = exercises.check("lif_step", lambda v, current, leak, threshold: 1 / 0, quiet=True)
    assert not result.passed and result.attempted and "ZeroDivisionError" in result.message


def test_unknown_exercise_lists_choices():
    with pytest.raises(ValueError, match="lif_step"):
        exercises.check("no_such_exercise", print)


def test_registry_rejects_duplicates():
    with pytest.raises(ValueError, match="already registered"):
        exercises.register("lif_step", reference=print, cases=list, hint="")


def test_every_chapter_has_exercises():
    expected = {"spike_count", "firing_rate", "lif_step", "lif_rheobase", "poisson_encode", "rate_std",
                "leak_correction", "fast_sigmoid_grad", "mse_sum_loss", "accuracy"}
    assert expected <= set(exercises.names())
