"""Starting the app: one Streamlit process, or K replicas behind HAProxy."""
