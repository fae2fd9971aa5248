"""Several app sessions at once = several threads on one process-wide Store and one set
of models. dlib's HOG detector crashes the process (segmentation fault) when two threads run
it at once on images of different sizes; models are therefore used under a lock."""

import threading

import cv2
import numpy as np

from workbench.pipeline.detect import detect_faces
from workbench.search import search_image
from workbench.search.enrol import Source, enrol_sources
from workbench.store import Store


def test_threads_detect_on_different_sizes_without_crashing(astronaut):
    sizes = [512, 700, 900, 1100]
    images = [cv2.resize(astronaut, (s, s)) for s in sizes]
    found: dict[int, list[int]] = {s: [] for s in sizes}
    errors: list = []

    def work(size: int, image: np.ndarray) -> None:
        try:
            for _ in range(6):
                found[size].append(len(detect_faces(image, max_side=None)))
        except Exception as err:  # noqa: BLE001 - asserted below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(s, im)) for s, im in zip(sizes, images)]
    [t.start() for t in threads]
    [t.join(timeout=300) for t in threads]
    assert errors == []
    assert all(len(v) == 6 and min(v) >= 1 for v in found.values()), found


def test_sessions_search_and_enrol_at_the_same_time(astronaut, db_path):
    with Store(db_path) as db:
        first = enrol_sources(db, "g", [Source("original", "eileen", astronaut)])
        assert first.enrolled == 1
        errors: list = []
        persons: list = []

        def searcher() -> None:
            try:
                for i in range(3):
                    r = search_image(db, "g", cv2.resize(astronaut, (480 + 64 * i, 480 + 64 * i)))
                    persons.append(r.faces[0].best.person)
            except Exception as err:  # noqa: BLE001 - asserted below
                errors.append(err)

        def enroller(k: int) -> None:
            try:
                brighter = np.clip(astronaut.astype(np.int16) + 10 * (k + 1), 0, 255).astype(np.uint8)
                variant = cv2.resize(brighter, (600 + 150 * k, 600 + 150 * k))  # other sizes too
                enrol_sources(db, "g", [Source(f"variant {k}", f"p{k}", variant)])
            except Exception as err:  # noqa: BLE001
                errors.append(err)

        threads = [threading.Thread(target=searcher) for _ in range(3)]
        threads += [threading.Thread(target=enroller, args=(k,)) for k in range(2)]
        [t.start() for t in threads]
        [t.join(timeout=300) for t in threads]
        assert errors == []
        assert persons and set(persons) <= {"eileen", "p0", "p1"}
        assert db.search_log.rows().height == 9
        assert db.faces.list("g").height == 3
    with Store(db_path) as again:  # the file is intact after concurrent writers
        assert again.faces.list("g").height == 3
