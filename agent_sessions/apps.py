from django.apps import AppConfig


class AgentSessionsConfig(AppConfig):
    name = "agent_sessions"
