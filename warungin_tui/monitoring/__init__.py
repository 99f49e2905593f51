"""Post-deployment monitoring: the seed's 24-hour schedule, sampled over one SSH connection,
every sample a journal event of the deployment run, the sign-off computed from the samples."""
