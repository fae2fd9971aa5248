import streamlit as st

from workbench.app import words

st.title("Glossary")
st.markdown("The words the workbench uses, as you would explain them to a reader. The same explanations appear "
            "as tooltips (the small question marks) across the app.")
for name, text in words.GLOSSARY.items():
    st.markdown(f"**{name}**: {text}")
