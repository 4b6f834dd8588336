"""Tour, primer 7.5: agentic AI."""

from __future__ import annotations

from . import Tour, section


@section("7.5", "Agentic AI: observe, plan, act, replan; multi-agent coordination", "grimoire.agents")
def agents(t: Tour) -> None:
    from grimoire.agents import PlanningAgent, count_conflicts, plan_multi_agent, plan_tour
    from grimoire.rl import GridWorld

    walls = [(0, 2), (1, 2), (2, 2), (3, 2)]
    env = GridWorld(shape=(5, 5), walls=walls)
    t.show("the world (the agent's map shows no walls)", env.draw())
    agent = PlanningAgent()
    visited, replans = agent.run(env)
    for line in agent.log_:
        t.say(f"  {line}")
    t.say(f"reached G after {len(visited) - 1} steps and {replans} replans (A* with the Manhattan heuristic)")
    order, path, total = plan_tour((0, 0), [(5, 5), (0, 5), (5, 0), (3, 3)], (6, 6),
                                   [(2, 1), (2, 2), (2, 3), (2, 4)])
    t.say(f"multi-step reasoning: 'visit 4 waypoints' becomes the sub-goals {order}, {total:.0f} steps")
    starts, goals = [(1, 0), (1, 4), (0, 2)], [(1, 4), (1, 0), (2, 2)]
    corridor = [(0, 0), (0, 4), (2, 0), (2, 4)]
    solo = plan_multi_agent(starts, goals, (3, 5), corridor, coordinated=False)
    team = plan_multi_agent(starts, goals, (3, 5), corridor, coordinated=True)
    t.say(f"3 agents in a corridor: decentralised plans collide {count_conflicts(solo)} times; "
          f"centralised prioritised planning: {count_conflicts(team)} conflicts, "
          f"makespan {max(map(len, team)) - 1} steps")
