#!/usr/bin/env nextflow
/*
 * locflow without the nf-schema plugin, for machines that cannot reach Nextflow's plugin
 * registry: LOCFLOW_OFFLINE=true makes nextflow.config pick this script and leave the plugin
 * out. Everything but main.nf's parameter validation and summary is the same pipeline.
 */
// Topic channels (the `versions` topic) are a preview feature before Nextflow 25.04.
nextflow.preview.topic = true

include { LOCFLOW } from './workflows/locflow'

workflow {
    log.warn('nf-schema left out (LOCFLOW_OFFLINE=true): parameters are not validated against nextflow_schema.json')
    LOCFLOW()
}
