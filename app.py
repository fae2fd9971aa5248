"""Streamlit entry point: `workbench app` or `streamlit run app.py`.

Streamlit runs this file as ``__main__``. Worker processes are spawned and re-run their parent's
main script as ``__mp_main__``: the guard keeps them from importing Streamlit and drawing the app
(see :mod:`workbench.app.shell`). Nothing but this guard belongs here.
"""

if __name__ == "__main__":
    from workbench.app.shell import main

    main()
