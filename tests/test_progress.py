"""Long work says what it is doing from the first file: the embedding of an evaluation reports
while it reads and hashes the files, before the first (slow) face analysis."""

from workbench.evaluation.datasets import embedding


def test_embedding_reports_progress_before_the_first_analysis(demo_photos, monkeypatch):
    events = []
    real = embedding._analyse
    monkeypatch.setattr(embedding, "_analyse", lambda *a: (events.append("analyse"), real(*a))[1])
    files = sorted((demo_photos / "deepface-unit").glob("img1*.jpg"))[:2]
    embedding.embed_files(files, progress=lambda done, total, name: events.append((done, total, name)))
    assert events[:2] == [(0, 2, f"reading {files[0].name}"), (0, 2, f"reading {files[1].name}")]
    assert events[2] == "analyse" and events[-1] == (2, 2, str(files[1]))
