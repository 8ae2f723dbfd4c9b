// Homology partition: no pair above the identity threshold crosses folds. It reads the homolog
// pairs of every HOMOLOGY_SEARCH chunk instead of searching again.
process PARTITION {
    tag "${proteins.name}"
    label 'process_high'

    input:
    path proteins
    path pairs, stageAs: 'pairs/*' // every chunk of HOMOLOGY_SEARCH
    val folds     // number of folds
    val threshold // identity (of the shorter sequence) above which two proteins are homologs

    output:
    path 'folds.parquet',  emit: folds
    path 'partition.json', emit: report
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions
    tuple val("${task.process}"), val('mmseqs2'), eval('locflow versions mmseqs2'), emit: versions_mmseqs2, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def pairs_args = [pairs].flatten().collect { "--pairs ${it}" }.join(" ")
    """
    locflow partition ${proteins} --out folds.parquet --folds ${folds} --threshold ${threshold} --report partition.json --threads ${task.cpus} ${pairs_args} ${args}
    """

    stub:
    """
    touch folds.parquet
    echo '{}' > partition.json
    """
}
