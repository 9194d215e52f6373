import { toJsonText, type SqlClient } from "../client.js";

/** The prompt template a job's prompt was rendered from, as stored on the job. */
export interface AgentJobTemplate {
  role: string;
  taskType: string;
  overrides: string[];
  sha256: string;
}

/** Record which prompt template (and its hash) a job used, once its prompt is rendered. */
export async function saveAgentJobTemplate(sql: SqlClient, jobId: string, template: AgentJobTemplate): Promise<void> {
  await sql`
    update agent_jobs set prompt_template = ${toJsonText(template)}, prompt_template_sha256 = ${template.sha256}
     where id = ${jobId}`;
}
