import streamlit as st

from workbench.app import ui, words

ui.current()  # through app.py, like every page (its navigation, even when this URL is the first request)
st.title("Glossary")
st.markdown("The words the workbench uses, as you would explain them to a reader. The same explanations appear "
            "as tooltips (the small question marks) across the app.")
for name, text in words.GLOSSARY.items():
    st.markdown(f"**{name}**: {text}")
