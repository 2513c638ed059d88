from django.apps import AppConfig


class AgentConversationsConfig(AppConfig):
    name = "agent_conversations"
